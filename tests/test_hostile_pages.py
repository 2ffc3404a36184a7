"""A hostile page costs only itself (issue 25): real HTTP on 127.0.0.1, a
listing with good articles beside one made to break the reader, and pages
made to take over another article's identity."""

from __future__ import annotations

import json
import textwrap

import feedparser
import pytest

import sitesrv
from feedpub import config
from feedpub.build import build

HTML = "text/html; charset=utf-8"


def article(title: str, when: str, extra_head: str = "") -> bytes:
    return (f'<html><head><meta charset="utf-8">{extra_head}<title>{title}</title></head><body><h1>{title}</h1>'
            f'<div class="info">發佈時間：<span class="time">{when}</span></div>'
            f'<div class="content"><p>{title}的正文，港口吞吐量穩步回升。</p></div></body></html>').encode()


def listing(links) -> bytes:
    items = "".join(f'<li><a href="{href}">{title}</a><span>06-0{n + 1}</span></li>'
                    for n, (href, title) in enumerate(links))
    return f'<html><head><meta charset="utf-8"></head><body><ul class="list">{items}</ul></body></html>'.encode()


@pytest.fixture
def server():
    site = sitesrv.Site()
    httpd = sitesrv.serve(site)
    yield site, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def settings_for(tmp_path, base, sources: str):
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
    """) + textwrap.dedent(sources), encoding="utf-8")
    return config.load(cfg)


def web_source(name: str, starts: list[str], *, auto: bool = False, listing_kind: str = "html") -> str:
    start = ", ".join(f'{{ url = "{u}", category = "港航/港口動態" }}' for u in starts)
    fields = ('item = "data.list"\ntitle = "title"\nlink = "url"\n' if listing_kind == "json" else
              'item = "ul.list li"\ntitle = "a"\nlink = "a@href"\n')
    article = 'auto = true' if auto else 'title = "h1"\ndate = ".info .time"\nbody = "div.content"'
    return (f'\n[[sources]]\nname = "{name}"\ntype = "web"\ndelay = "0s"\nretries = 0\nrobots = false\n'
            f'listing = "{listing_kind}"\nstart = [{start}]\n{fields}\n[sources.article]\n{article}\n')


def titles(tmp_path) -> set[str]:
    feed = feedparser.parse((tmp_path / "feeds" / "rss.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    return {e.title for e in feed.entries}


GOOD = [("/news/good1.html", "好文章一"), ("/news/good2.html", "好文章二")]

# Each: what the bad article page (or the second start page) answers.
BAD_PAGES = {
    "whitespace": b"   \r\n\t  \n",
    "a comment": b"<!-- nothing here -->",
    "@graph 5": b'<html><head><script type="application/ld+json">{"@graph": 5}</script></head><body></body></html>',
    "JSON-LD 3000 deep": (b'<html><head><script type="application/ld+json">' + b'{"a":' * 3000 + b"1" + b"}" * 3000
                          + b"</script></head><body><h1>\xe6\xb7\xb1</h1></body></html>"),
}


@pytest.mark.parametrize("case", sorted(BAD_PAGES))
@pytest.mark.parametrize("auto", [False, True], ids=["selectors", "auto"])
def test_a_bad_article_page_costs_that_page_only(server, tmp_path, case, auto):
    site, base = server
    for path, title in GOOD:
        site.pages[path] = sitesrv.Resource(article(title, "2020-06-01 10:00:00"), HTML)
    site.pages["/news/bad.html"] = sitesrv.Resource(BAD_PAGES[case], HTML)
    site.pages["/news/"] = sitesrv.Resource(listing([GOOD[0], ("/news/bad.html", "壞文章"), GOOD[1]]), HTML)
    summary = build(settings_for(tmp_path, base, web_source("portal", [f"{base}/news/"], auto=auto)))
    assert not summary.failed_sources, summary.problems
    assert {"好文章一", "好文章二"} <= titles(tmp_path)
    assert summary.articles["new"] >= 2


def test_one_blank_start_page_costs_that_start_only(server, tmp_path):
    site, base = server
    for path, title in GOOD:
        site.pages[path] = sitesrv.Resource(article(title, "2020-06-01 10:00:00"), HTML)
    site.pages["/news/"] = sitesrv.Resource(listing(GOOD), HTML)
    site.pages["/blank/"] = sitesrv.Resource(b"  \n ", HTML)
    summary = build(settings_for(tmp_path, base, web_source("portal", [f"{base}/blank/", f"{base}/news/"])))
    assert not summary.failed_sources and titles(tmp_path) == {"好文章一", "好文章二"}
    assert any(p.location == f"{base}/blank/" for p in summary.problems)


def test_a_json_listing_nested_200000_deep_costs_that_start_only(server, tmp_path):
    site, base = server
    for path, title in GOOD:
        site.pages[path] = sitesrv.Resource(article(title, "2020-06-01 10:00:00"), HTML)
    site.pages["/api/good"] = sitesrv.Resource(json.dumps({"data": {"list": [
        {"title": t, "url": p} for p, t in GOOD]}}).encode(), "application/json")
    site.pages["/api/bomb"] = sitesrv.Resource(b"[" * 200_000 + b"]" * 200_000, "application/json")
    summary = build(settings_for(tmp_path, base, web_source(
        "api", [f"{base}/api/bomb", f"{base}/api/good"], listing_kind="json")))
    assert not summary.failed_sources and titles(tmp_path) == {"好文章一", "好文章二"}
    (problem,) = [p for p in summary.problems if p.location == f"{base}/api/bomb"]
    assert "nested deeper than 64 levels" in problem.reason
