"""The `web` source against a real HTTP server on 127.0.0.1 that the tests run."""

from __future__ import annotations

import calendar
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import feedparser
import pytest

import sitesrv
from feedpub import config
from feedpub.build import build

NOW = datetime(2020, 7, 2, tzinfo=timezone.utc)


def listing(items, next_href=None, charset="utf-8"):
    lis = "\n".join(f'<li><a href="{href}" title="{title}">{title[:6]}…</a><span class="date">{date}</span></li>'
                    for href, title, date in items)
    nxt = f'<a href="{next_href}">下一頁</a>' if next_href else '<span>下一頁</span>'
    return (f'<html><head><meta charset="{charset}"></head><body><div class="position">當前位置: 首頁 &gt; 物流資訊</div>'
            f'<ul class="list">{lis}</ul><div class="pages">{nxt}</div></body></html>')


def article(title, when, source="港航觀察", crumb="首頁 &gt; 物流資訊 &gt; 港口航運", meta="utf-8", extra=""):
    head = f'<meta charset="{meta}">' if meta else ""
    return (f'<html><head>{head}{extra}</head><body><div class="position">當前位置: {crumb} &gt; {title}</div>'
            f'<h1>{title}</h1><div class="info"><span class="time">{when}</span> <span class="source">來源:{source}</span>'
            f'</div><div class="content"><p>{title}的正文。<a href="../img/x.html">相關</a></p>'
            f'<script>alert(1)</script></div></body></html>')


@pytest.fixture
def web(tmp_path):
    site = sitesrv.Site()
    httpd = sitesrv.serve(site)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield site, base, tmp_path
    httpd.shutdown()


def configure(tmp_path, base, *, article_selectors=True, extra=""):
    art = textwrap.dedent("""
        [sources.article]
        title = "h1"
        date = ".info .time"
        source = ".info .source"
        body = "div.content"
        breadcrumb = ".position"
    """) if article_selectors else ""
    cfg = tmp_path / "feedpub.toml"
    cfg.write_text(textwrap.dedent(f"""
        [site]
        title = "測試站"
        link = "{base}/"
        feeds_url = "https://feeds.example.com/"
        timezone = "Asia/Shanghai"

        [output]
        dir = "feeds"

        [store]
        url = "sqlite:///state.db"

        [[sources]]
        name = "portal"
        type = "web"
        delay = "0s"
        timeout = "1s"
        retries = 1
        start = [
          {{ url = "{base}/news/", category = "物流資訊/港口航運" }},
          {{ url = "{base}/cold/", category = "市場分析/冷鏈物流" }},
        ]
        item = "ul.list li"
        title = "a@title"
        link = "a@href"
        date = "span.date"
        next_page = "a:-soup-contains('下一頁')@href"
        max_pages = 5
        {extra}
    """) + art, encoding="utf-8")
    return config.load(cfg)


def entries(tmp_path, rel="atom.xml"):
    parsed = feedparser.parse((tmp_path / "feeds" / rel).read_bytes())
    assert not parsed.bozo
    return {e.title: e for e in parsed.entries}


def when(e):
    return datetime.fromtimestamp(calendar.timegm(e.published_parsed), timezone.utc)


def small_site(site):
    site.pages["/robots.txt"] = sitesrv.Resource(b"User-agent: *\nDisallow: /private/\n", "text/plain")
    site.pages["/news/"] = sitesrv.Resource(listing([
        ("../news/2020/a1.html", "寧波港吞吐量創新高", "06-30"),
        ("/news/2020/a2.html?utm_source=x&spm=list.1", "上海港開通新航線", "2020-06-29"),
        ("./2020/a3.html", "GBK頁面無聲明", "2020-06-28"),
        ("2020/a404.html", "已刪除的文章", "2020-06-27"),
    ], next_href="list_2.html").encode())
    site.pages["/news/list_2.html"] = sitesrv.Resource(listing([
        ("/news/2020/a2.html?spm=list.2", "上海港開通新航線", "2020-06-29"),     # the same story again
        ("2020/a5.html", "Big5頁面", "2020-06-20"),
        ("/private/a6.html", "不許抓取", "2020-06-19"),
    ], next_href="index.html").encode())                                        # a loop back to page 1
    site.pages["/news/index.html"] = site.pages["/news/"]
    site.pages["/cold/"] = sitesrv.Resource(listing([("/cold/c1.html", "冷鏈基地開工", "3小時前")],
                                                    charset="gbk").encode("gbk"))
    site.pages["/news/2020/a1.html"] = sitesrv.Resource(article("寧波港吞吐量創新高", "2020/6/30 22:46:13").encode())
    site.pages["/news/2020/a2.html"] = sitesrv.Resource(article(
        "上海港開通新航線", "2020-06-29T10:00:00+08:00",
        extra='<link rel="canonical" href="/news/2020/a2.html?from=canon">').encode())
    site.pages["/news/2020/a3.html"] = sitesrv.Resource(
        article("GBK頁面無聲明", "2020年6月28日 09:15", source="華東物流報", meta=None).encode("gbk"))
    site.pages["/news/2020/a5.html"] = sitesrv.Resource(
        article("Big5頁面", "2020-06-20 08:00", source="港航觀察", meta=None).encode("big5"),
        "text/html; charset=big5")
    site.pages["/cold/c1.html"] = sitesrv.Resource(
        article("冷鏈基地開工", "", crumb="首頁 &gt; 市場分析 &gt; 冷鏈物流", meta="gb2312").encode("gb18030"))
    site.pages["/private/a6.html"] = sitesrv.Resource(article("不許抓取", "2020-06-19 08:00").encode())


def test_listings_and_article_pages(web):
    site, base, tmp = web
    small_site(site)
    summary = build(configure(tmp, base), now=NOW)
    got = entries(tmp)
    assert set(got) == {"寧波港吞吐量創新高", "上海港開通新航線", "GBK頁面無聲明", "Big5頁面", "冷鏈基地開工"}
    assert when(got["寧波港吞吐量創新高"]) == datetime(2020, 6, 30, 14, 46, 13, tzinfo=timezone.utc)   # the page wins
    assert when(got["上海港開通新航線"]) == datetime(2020, 6, 29, 2, 0, tzinfo=timezone.utc)
    assert when(got["GBK頁面無聲明"]) == datetime(2020, 6, 28, 1, 15, tzinfo=timezone.utc)
    assert when(got["Big5頁面"]) == datetime(2020, 6, 20, 0, 0, tzinfo=timezone.utc)
    # no date on the page: the listing's "3小時前", relative to the server's Date header
    assert when(got["冷鏈基地開工"]) == datetime(2020, 6, 30, 22, 30, tzinfo=timezone.utc)
    # links: relative forms resolved, tracking parameters gone, canonical link honoured
    assert got["寧波港吞吐量創新高"].link == f"{base}/news/2020/a1.html"
    assert got["上海港開通新航線"].link == f"{base}/news/2020/a2.html" == got["上海港開通新航線"].id
    assert f'href="{base}/news/img/x.html"' in got["寧波港吞吐量創新高"].content[0].value      # absolute in content
    assert "alert" not in got["寧波港吞吐量創新高"].content[0].value
    assert got["GBK頁面無聲明"].author == "華東物流報"
    # categories: the breadcrumb on the article page
    assert set(entries(tmp, "wu-liu-zi-xun/gang-kou-hang-yun/rss.xml")) == \
        {"寧波港吞吐量創新高", "上海港開通新航線", "GBK頁面無聲明", "Big5頁面"}
    assert set(entries(tmp, "shi-chang-fen-xi/leng-lian-wu-liu/rss.xml")) == {"冷鏈基地開工"}
    # problems: the 404 and robots.txt, per URL
    reasons = {p.location: p.reason for p in summary.problems}
    assert reasons[f"{base}/news/2020/a404.html"] == "HTTP 404"
    assert reasons[f"{base}/private/a6.html"] == "disallowed by robots.txt"
    assert site.requests("/private/a6.html") == 0
    assert site.requests("/news/2020/a2.html") == 1                             # one story, one fetch


def test_second_run_costs_one_conditional_request_per_listing(web):
    site, base, tmp = web
    small_site(site)
    settings = configure(tmp, base)
    build(settings, now=NOW)
    before = {k: v[0] for k, v in snapshot(tmp).items()}
    site.log.clear()
    s = build(settings, now=NOW)
    paths = [(p, status) for _, p, status in site.log]
    assert sorted(paths) == [("/cold/", 304), ("/news/", 304)]          # robots.txt read within its day: kept
    assert s.articles == {} and s.written == 0
    assert {k: v[0] for k, v in snapshot(tmp).items()} == before


def snapshot(tmp):
    out = tmp / "feeds"
    return {p.relative_to(out).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_slow_page_times_out_and_is_retried_later(web):
    site, base, tmp = web
    small_site(site)
    site.pages["/news/2020/a1.html"].delay = 3
    settings = configure(tmp, base)
    summary = build(settings, now=NOW)
    assert summary.articles["new"] == 4
    assert {p.location: p.reason for p in summary.problems}[f"{base}/news/2020/a1.html"] == "timed out"
    assert site.requests("/news/2020/a1.html") == 2                              # one retry, then give up
    site.pages["/news/2020/a1.html"].delay = 0
    summary = build(settings, now=NOW)
    assert summary.articles["new"] == 1 and "寧波港吞吐量創新高" in entries(tmp)


def test_5xx_is_retried_4xx_is_not(web):
    site, base, tmp = web
    small_site(site)
    site.pages["/news/2020/a1.html"].fail_first = 1
    build(configure(tmp, base), now=NOW)
    assert "寧波港吞吐量創新高" in entries(tmp)
    assert site.requests("/news/2020/a1.html") == 2
    assert site.requests("/news/2020/a404.html") == 1


def test_robots_can_be_turned_off(web):
    site, base, tmp = web
    small_site(site)
    build(configure(tmp, base, extra="robots = false"), now=NOW)
    assert "不許抓取" in entries(tmp) and site.requests("/robots.txt") == 0


def test_listing_only_without_article_pages(web):
    site, base, tmp = web
    small_site(site)
    build(configure(tmp, base, article_selectors=False), now=NOW)
    got = entries(tmp)
    assert "寧波港吞吐量創新高" in got and when(got["寧波港吞吐量創新高"]) == datetime(2020, 6, 29, 16, 0, tzinfo=timezone.utc)
    assert site.requests("/news/2020/a1.html") == 0
    assert set(entries(tmp, "wu-liu-zi-xun/gang-kou-hang-yun/rss.xml")) >= {"寧波港吞吐量創新高"}


def test_a_selector_that_matches_nothing_is_a_loud_error(web, caplog):
    site, base, tmp = web
    small_site(site)
    text = (tmp / "feedpub.toml")
    settings = configure(tmp, base)
    text.write_text(text.read_text().replace('item = "ul.list li"', 'item = "ul.news-list li"'))
    summary = build(config.load(text), now=NOW)
    errors = [p.reason for p in summary.problems if p.severity == "error"]
    assert any("matched nothing on any listing page" in e for e in errors)
    assert "matched nothing on any listing page" in caplog.text
    assert settings is not None


def test_feedpub_try_shows_what_each_selector_finds(web):
    site, base, tmp = web
    small_site(site)
    configure(tmp, base)
    r = subprocess.run([sys.executable, "-m", "feedpub", "try", "portal", "--config", str(tmp / "feedpub.toml")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "item 'ul.list li': 4 match(es)" in r.stdout
    assert "寧波港吞吐量創新高" in r.stdout and f"{base}/news/list_2.html" in r.stdout
    assert "date: 2020/6/30 22:46:13  ->  2020-06-30 22:46:13 +0800 (Asia/Shanghai)" in r.stdout
    assert "category: 物流資訊/港口航運  ->  category 物流資訊 › 港口航運 (wu-liu-zi-xun/gang-kou-hang-yun)" in r.stdout
    assert f"{base}/cold/" in r.stdout                                # every start page
    assert not (tmp / "feeds").exists() and not (tmp / "state.db").exists()
