"""Script variants ([output] variants): every feed also in simplified and in
traditional characters, phrase by phrase, with the same items and ids and
the HTML of the bodies untouched."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import feedparser
import opencc
from lxml import etree

from conftest import configure, NOW, dump
from feedpub.serve import FeedServer
from test_serve import request

TRAD = {
    "a.txt": ("首頁 > 物流資訊 > 行業新聞", "冷鏈物流骨幹網建設提速 軟體與網路同步升級",
              "各地<a href='https://news.example.com/冷鏈/1.html' title='冷鏈'>冷鏈</a>倉庫的滑鼠與軟體。"),
    "b.txt": ("首頁 > 物流資訊 > 港口航運", "港口集裝箱吞吐量創新高", "記者從港口獲悉，吞吐量同比增長。"),
}
SIMP = {"c.txt": ("首页 > 物流资讯 > 行业新闻", "简体写的文章：软件升级", "正文里的软件与网络。")}


def write(site, articles, start=1):
    for n, (name, (crumb, title, body)) in enumerate(articles.items(), start):
        site.write(name, dump(crumb, title, f"2020/6/{n} 10:00:00", "來處", body))


def html_article(site, name, crumb, title, body_html, day):
    site.write(name, f"<html><head><meta charset='utf-8'></head><body><div class='position'>當前位置: {crumb}"
                     f"</div><h1>{title}</h1><span class='time'>2020-06-{day:02d} 10:00:00</span>"
                     f"<div class='content'>{body_html}</div></body></html>")


def test_variant_feeds_convert_text_keep_markup_and_ids(site):
    configure(site, variants=["zh-Hans", "zh-Hant"])
    html_article(site, "a.html", TRAD["a.txt"][0], TRAD["a.txt"][1], f"<p>{TRAD['a.txt'][2]}</p>", 1)
    write(site, {"b.txt": TRAD["b.txt"]}, start=2)
    write(site, SIMP, start=3)
    site.build()
    to_simplified = opencc.OpenCC("tw2sp")
    base = {e.id: e for e in site.feed("rss.xml").entries}
    for fmt in ("rss", "atom"):
        variant = {e.id: e for e in site.feed(f"{fmt}.zh-Hans.xml").entries}
        assert set(variant) == set(base)                                   # the same items, the same ids
        for id_, e in variant.items():
            original = base[id_]
            if original.title.startswith("简体"):
                assert e.title == original.title                          # already simplified: unchanged
            else:
                assert e.title == to_simplified.convert(original.title)
        a = next(e for e in variant.values() if e.title.startswith("冷链"))
        assert "软件与网络" in a.title                                        # phrase-level: 軟體 -> 软件, 網路 -> 网络
        body = a.content[0].value
        original_body = base[next(i for i, e in variant.items() if e is a)].content[0].value
        tags = re.compile(r"<[^>]*>")
        assert tags.findall(body) == tags.findall(original_body)            # every tag, attribute and URL as it was
        assert 'title="冷鏈"' in body and "%E5%86%B7%E9%8F%88" in body
        assert ">冷链</a>" in body and "鼠标" in body                         # the text converted
    raw = (site.out / "rss.zh-Hans.xml").read_text()
    assert "<language>zh-Hans</language>" in raw and "rss.zh-Hans.xml" in raw
    js = json.loads((site.out / "wu-liu-zi-xun/hang-ye-xin-wen/feed.zh-Hans.json").read_bytes())
    assert js["language"] == "zh-Hans" and js["title"] == to_simplified.convert("物流資訊網: 物流資訊 › 行業新聞")
    assert js["title"] == "物流信息网: 物流信息 › 行业新闻"                  # mainland words, not only characters
    trad = {e.id: e.title for e in site.feed("rss.zh-Hant.xml").entries}
    assert trad[next(i for i, e in base.items() if e.title.startswith("冷鏈"))] == base[next(
        i for i, e in base.items() if e.title.startswith("冷鏈"))].title                  # already traditional
    assert "簡體寫的文章" in "".join(trad.values())
    # offered to people and readers
    index = (site.out / "index.html").read_text()
    assert 'href="rss.zh-Hans.xml"' in index and "feeds.zh-Hans.opml" in index
    urls = [o.get("xmlUrl") for o in etree.parse(str(site.out / "feeds.zh-Hans.opml")).iter("outline") if o.get("xmlUrl")]
    assert urls and all(u.endswith("/rss.zh-Hans.xml") for u in urls)
    category_page = (site.out / "wu-liu-zi-xun/hang-ye-xin-wen/index.html").read_text()
    assert 'href="atom.zh-Hant.xml"' in category_page


def test_variants_have_archives_stay_byte_identical_and_regenerate_incrementally(site):
    configure(site, variants=["zh-Hans"], max_items=3, archive_page_size=3)
    for i in range(8):
        site.write(f"{i}.txt", dump("首頁 > 物流資訊 > 行業新聞", f"第{i}篇軟體新聞", f"2020/6/{i + 1} 10:00:00", "來處"))
    site.build()
    assert (site.out / "archive/2.rss.zh-Hans.xml").exists() and (site.out / "archive/1.atom.zh-Hans.xml").exists()
    ids, path = [], site.out / "rss.zh-Hans.xml"
    while path is not None:                                              # the variant's own prev-archive walk
        parsed = feedparser.parse(path.read_bytes())
        ids += [e.id for e in parsed.entries]
        prev = [link.href for link in parsed.feed.get("links", []) if link.rel == "prev-archive"]
        path = site.out / prev[0].removeprefix("https://news.example.com/feeds/") if prev else None
    assert len(set(ids)) == 8 and re.search("软件", feedparser.parse((site.out / "archive/1.rss.zh-Hans.xml")
                                                                      .read_bytes()).entries[0].title)
    before = site.snapshot()
    assert site.build(full=True).written == 0 and site.snapshot() == before      # byte-identical, untouched
    site.write("gk.txt", dump("首頁 > 物流資訊 > 港口航運", "港口新聞", "2020/6/20 10:00:00", "來處"))
    site.build(now=NOW + timedelta(hours=1))
    after = site.snapshot()
    assert after["wu-liu-zi-xun/hang-ye-xin-wen/rss.zh-Hans.xml"] == before["wu-liu-zi-xun/hang-ye-xin-wen/rss.zh-Hans.xml"]
    assert after["rss.zh-Hans.xml"] != before["rss.zh-Hans.xml"]


def test_a_browser_opening_a_variant_feed_gets_its_category_page(site):
    configure(site, variants=["zh-Hans"], max_items=2, archive_page_size=2)
    for i in range(5):
        site.write(f"{i}.txt", dump("首頁 > 物流資訊 > 行業新聞", f"第{i}篇", f"2020/6/{i + 1} 10:00:00", "來處"))
    site.build()
    server = FeedServer(site.out, ("127.0.0.1", 0)).start()
    try:
        host, port = server.address
        browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
        folder = "/wu-liu-zi-xun/hang-ye-xin-wen/"
        resp, body = request(host, port, "GET", folder + "rss.zh-Hans.xml", browser)
        assert resp.status == 200 and body == (site.out / folder.strip("/") / "index.html").read_bytes()
        resp, _ = request(host, port, "GET", folder + "archive/1.atom.zh-Hans.xml", browser)
        assert resp.status == 302 and resp.getheader("Location") == "../index.html"
        resp, body = request(host, port, "GET", folder + "rss.zh-Hans.xml", {"Accept": "application/rss+xml"})
        assert body == (site.out / folder.strip("/") / "rss.zh-Hans.xml").read_bytes()
    finally:
        server.stop()
