"""Filtered feeds ([[feeds]]): the articles about one subject, across
categories, whatever script or width they are written in."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from lxml import etree

from conftest import NOW, dump, edit_config
from datetime import timedelta

COLD = {"slug": "topics/cold-chain", "title": "冷鏈物流", "include": ["冷鏈", "冷庫", r"/-\d+℃/"],
        "exclude": ["廣告"], "categories": ["物流資訊"]}

ARTICLES = {   # file: (breadcrumb, title, body, in the cold-chain feed?)
    "trad.txt": ("首頁 > 物流資訊 > 行業新聞", "冷鏈物流骨幹網建設提速", "正文。", True),
    "simp.txt": ("首页 > 物流资讯 > 行业新闻", "冷链配送需求上升", "正文。", True),           # simplified
    "body.txt": ("首頁 > 物流資訊 > 港口航運", "港口新聞", "新建冷库三座。", True),        # in the text, simplified
    "wide.txt": ("首頁 > 物流資訊 > 港口航運", "溫度控制", "全程保持－１８℃運輸。", True),  # full-width, by /regex/
    "ad.txt": ("首頁 > 物流資訊 > 行業新聞", "冷鏈設備廣告", "廣告正文。", False),        # excluded
    "other.txt": ("首頁 > 市場分析 > 冷鏈物流", "冷鏈市場分析", "正文。", False),         # not under 物流資訊
    "none.txt": ("首頁 > 物流資訊 > 行業新聞", "快遞業務量增長", "正文。", False),
}


def write_all(site):
    for n, (name, (crumb, title, body, _)) in enumerate(ARTICLES.items()):
        site.write(name, dump(crumb, title, f"2020/6/{n + 1} 10:00:00", "來處", body))


def titles(site, rel):
    return {e.title for e in site.feed(rel).entries}


def test_a_filtered_feed_holds_exactly_its_subjects_articles(site):
    edit_config(site, feeds=[COLD])
    write_all(site)
    site.build()
    want = {title for _, title, _, inside in ARTICLES.values() if inside}
    assert titles(site, "topics/cold-chain/rss.xml") == titles(site, "topics/cold-chain/atom.xml") == want
    js = json.loads((site.out / "topics/cold-chain/feed.json").read_bytes())
    assert {i["title"] for i in js["items"]} == want and js["title"] == "物流資訊網: 冷鏈物流"
    # its items keep their own categories, and the categories are as before
    assert "冷鏈物流骨幹網建設提速" in titles(site, "wu-liu-zi-xun/hang-ye-xin-wen/rss.xml")
    # offered apart from the categories: the index, topics.opml; not feeds.opml
    index = (site.out / "index.html").read_text()
    assert 'href="topics/cold-chain/index.html"' in index and "topics.opml" in index
    topic_urls = [o.get("xmlUrl") for o in etree.parse(str(site.out / "topics.opml")).iter("outline") if o.get("xmlUrl")]
    assert topic_urls == ["https://news.example.com/feeds/topics/cold-chain/rss.xml"]
    assert "cold-chain" not in (site.out / "feeds.opml").read_text()


def test_a_filtered_feed_is_regenerated_only_when_it_would_change(site):
    edit_config(site, feeds=[COLD])
    write_all(site)
    site.build()
    before = {p: p.stat().st_mtime_ns for p in (site.out / "topics").rglob("*") if p.is_file()}
    site.write("unrelated.txt", dump("首頁 > 物流資訊 > 行業新聞", "快遞網點擴張", "2020/6/20 10:00:00", "來處"))
    site.build(now=NOW + timedelta(hours=1))
    assert {p: p.stat().st_mtime_ns for p in (site.out / "topics").rglob("*") if p.is_file()} == before
    site.write("cold.txt", dump("首頁 > 物流資訊 > 行業新聞", "冷庫擴建", "2020/6/21 10:00:00", "來處"))
    site.build(now=NOW + timedelta(hours=2))
    assert "冷庫擴建" in titles(site, "topics/cold-chain/rss.xml")


def test_a_filtered_feed_added_later_holds_the_articles_stored_before(site):
    write_all(site)
    site.build()
    edit_config(site, feeds=[COLD])
    s = site.build(now=NOW + timedelta(hours=1))
    assert s.articles["new"] == 0
    assert titles(site, "topics/cold-chain/rss.xml") == {t for _, t, _, inside in ARTICLES.values() if inside}
    # and words changed later refile them
    edit_config(site, feeds=[{**COLD, "include": ["冷庫"]}])
    site.build(now=NOW + timedelta(hours=2))
    assert titles(site, "topics/cold-chain/rss.xml") == {"港口新聞"}


def test_a_slug_that_is_a_categorys_folder_is_a_configuration_error(site):
    write_all(site)
    site.build()
    edit_config(site, feeds=[{**COLD, "slug": "wu-liu-zi-xun"}])
    r = subprocess.run([sys.executable, "-m", "feedpub", "build", "--config", str(site.config_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "wu-liu-zi-xun" in r.stderr and "another slug" in r.stderr, r.stderr


@pytest.mark.parametrize("bad,message", [
    ({"slug": "x", "title": "X", "include": []}, "include"),
    ({"slug": "articles", "title": "X", "include": ["a"]}, "slug"),
    ({"slug": "x", "title": "X", "include": ["/(/"]}, "regular expression"),
    ({"slug": "x", "title": "X", "include": ["/冷(?=鏈)/"]}, "RE2: no backreferences or lookarounds"),
])
def test_bad_filtered_feeds_are_refused(site, bad, message):
    from feedpub import config
    edit_config(site, feeds=[bad])
    with pytest.raises(config.ConfigError, match=message):
        site.settings()
