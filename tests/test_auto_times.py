"""`[sources.article] auto = true` finds an article's exact time wherever its
page keeps it (issue 23): meta tags, JSON-LD, <time>, the byline in any of
the forms Chinese portals write (relative to the server's Date, 12-hour,
full width, published beside updated), and never the time of a sidebar, a
"most read" block or the site's frame, even when they come first."""

from __future__ import annotations

import calendar
import textwrap
from datetime import datetime, timedelta, timezone

import feedparser
import pytest

import sitesrv
from conftest import web_site_config
from feedpub import config
from feedpub.build import build

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2020, 7, 1, 1, 30, tzinfo=timezone.utc)            # the server's Date: 09:30 in Shanghai

# (what the page says, where; the instant it means, in Shanghai)
CASES = [
    ('<div class="info">發布時間：剛剛　來源：港口網</div>', "2020-07-01 09:30:00"),
    ('<div class="info">發布時間：15小時前</div>', "2020-06-30 18:30:00"),
    ('<p class="source">作者：張三 时间：昨天 14:30</p>', "2020-06-30 14:30:00"),
    ('<div class="info">发布时间：2020-06-29 下午3:05:42</div>', "2020-06-29 15:05:42"),
    ('<div class="info">發佈日期：2020年6月28日 上午12:35</div>', "2020-06-28 00:35:00"),
    ('<div class="info">时间：２０２０－０６－２７　１０：２３：４５</div>', "2020-06-27 10:23:45"),
    ('<div class="info">发布时间：2020-06-26 08:00:00 更新时间：2020-06-30 09:00:00</div>', "2020-06-26 08:00:00"),
    ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": "x", '
     '"dateModified": "2020-06-30T09:00:00+08:00", "datePublished": "2020-06-25T07:06:05+08:00"}</script>',
     "2020-06-25 07:06:05"),
    ('<meta name="PubDate" content="2020-06-24 11:12:13">', "2020-06-24 11:12:13"),
    ('<div class="article-meta"><time datetime="2020-06-23T06:07:08+08:00">6月23日</time></div>', "2020-06-23 06:07:08"),
]

FRAME_FIRST = ('<div class="topbar"><span class="date">2020年7月1日 09:00:00 星期三</span></div>'
               '<div class="sidebar"><h3>热门</h3><ul><li><a href="/x.html">别的文章</a>'
               '<span class="time">2020-06-30 23:59:59</span></li></ul></div>')
MOST_READ = ('<div class="most-read"><h3>阅读排行</h3><ul><li><a href="/y.html">另一篇</a>'
             '<time datetime="2020-06-30T22:22:22+08:00">22:22</time></li></ul></div>')


def page(n: int, what: str) -> bytes:
    head, body = (what, "") if what.startswith(("<meta", "<script")) else ("", what)
    title = f"港口吞吐量第{n}次刷新纪录"
    return (f'<html><head><meta charset="utf-8">{head}<title>{title}_港航网</title></head><body>{FRAME_FIRST}'
            f'<div class="main"><h1>{title}</h1>{body}<div class="content"><p>{title}。正文第一段。</p>'
            f'<p>正文第二段。</p></div></div>{MOST_READ}</body></html>').encode()


@pytest.fixture
def site(tmp_path):
    site = sitesrv.Site(date=NOW)
    items = ""
    for n, (what, when) in enumerate(CASES):
        site.pages[f"/news/{n}.html"] = sitesrv.Resource(page(n, what), "text/html; charset=utf-8")
        items += f'<li><a href="/news/{n}.html">港口吞吐量第{n}次刷新…</a><span class="date">{when[5:10]}</span></li>'
    site.pages["/news/"] = sitesrv.Resource(
        f'<html><head><meta charset="utf-8"></head><body><ul class="list">{items}</ul></body></html>'.encode(),
        "text/html; charset=utf-8")
    httpd = sitesrv.serve(site)
    yield f"http://127.0.0.1:{httpd.server_address[1]}", tmp_path
    httpd.shutdown()


def test_auto_finds_each_exact_time_and_never_a_sidebars(site):
    base, tmp = site
    cfg = tmp / "feedpub.toml"
    cfg.write_text(web_site_config(base, "港航网") + textwrap.dedent(f"""
        [[sources]]
        name = "news"
        type = "web"
        delay = "0s"
        start = [{{ url = "{base}/news/", category = "港航/港口动态" }}]
        item = "ul.list li"
        title = "a"
        link = "a@href"
        date = "span.date"
        [sources.article]
        auto = true
    """), encoding="utf-8")
    summary = build(config.load(cfg))
    assert not [p for p in summary.problems if p.severity == "error"], summary.problems
    feed = feedparser.parse((tmp / "feeds" / "atom.xml").read_bytes())
    got = {e.title: datetime.fromtimestamp(calendar.timegm(e.published_parsed), timezone.utc)
           .astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") for e in feed.entries}
    want = {f"港口吞吐量第{n}次刷新纪录": when for n, (_, when) in enumerate(CASES)}   # the page's full title
    assert got == want
