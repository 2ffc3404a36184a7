"""A hostile page costs only itself (issue 25): real HTTP on 127.0.0.1, a
listing with good articles beside one made to break the reader, and pages
made to take over another article's identity."""

from __future__ import annotations

import json
import textwrap
from datetime import timedelta

import feedparser
import pytest

import sitesrv
from conftest import web_site_config
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
    cfg.write_text(web_site_config(base) + textwrap.dedent(sources), encoding="utf-8")
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


def test_a_page_cannot_take_over_another_article_by_its_canonical_link(server, tmp_path):
    """An item stays as first published: a later page (of the same source or
    another) whose canonical link or og:url names it is reported and changes
    nothing; a canonical link to another host is not honoured at all."""
    site, base = server
    site.pages["/news/a1.html"] = sitesrv.Resource(article("港口吞吐量創新高", "2020-06-01 10:00:00"), HTML)
    site.pages["/news/"] = sitesrv.Resource(listing([("/news/a1.html", "港口吞吐量創新高")]), HTML)
    sources = web_source("portal", [f"{base}/news/"]) + web_source("other", [f"{base}/other/"]).replace(
        'category = "港航/港口動態"', 'category = "港航/其他"')
    site.pages["/other/"] = sitesrv.Resource(listing([]), HTML)
    settings = settings_for(tmp_path, base, sources)
    build(settings)
    before = {p.relative_to(tmp_path / "feeds"): p.read_bytes() for p in (tmp_path / "feeds").rglob("*")
              if p.is_file()}
    fake = "FAKE: the newsroom retracts everything"
    site.pages["/news/evil.html"] = sitesrv.Resource(article(
        fake, "2020-06-02 10:00:00", f'<link rel="canonical" href="{base}/news/a1.html">'), HTML)
    site.pages["/other/evil2.html"] = sitesrv.Resource(article(
        fake + " 2", "2020-06-02 10:00:00", f'<meta property="og:url" content="{base}/news/a1.html">'), HTML)
    site.pages["/news/elsewhere.html"] = sitesrv.Resource(article(
        "另一台主機的連結", "2020-06-03 10:00:00", '<link rel="canonical" href="https://news.example.org/x.html">'),
        HTML)
    site.pages["/news/"] = sitesrv.Resource(listing([("/news/a1.html", "港口吞吐量創新高"),
                                                     ("/news/evil.html", "假"), ("/news/elsewhere.html", "別處")]),
                                            HTML)
    site.pages["/other/"] = sitesrv.Resource(listing([("/other/evil2.html", "假二")]), HTML)
    site.last_modified += timedelta(hours=1)                            # the listings changed
    summary = build(settings)
    reported = {p.location: p.reason for p in summary.problems}
    assert "an item published from another page" in reported[f"{base}/news/evil.html"]
    assert "an item published from another page" in reported[f"{base}/other/evil2.html"]
    assert summary.articles["refused"] == 2 and summary.articles["new"] == 1
    feed = feedparser.parse((tmp_path / "feeds" / "rss.xml").read_bytes())
    assert {e.title: e.link for e in feed.entries} == {
        "港口吞吐量創新高": f"{base}/news/a1.html",
        "另一台主機的連結": f"{base}/news/elsewhere.html"}            # its own URL, not the other host's
    after = {p.relative_to(tmp_path / "feeds"): p.read_bytes() for p in (tmp_path / "feeds").rglob("*")
             if p.is_file()}
    feeds = [rel for rel in before if rel.name in ("rss.xml", "atom.xml")]
    assert sum(entry_of(before[rel], f"{base}/news/a1.html") is not None for rel in feeds) >= 4
    assert feeds and all(entry_of(after[rel], f"{base}/news/a1.html") == entry_of(before[rel], f"{base}/news/a1.html")
                         for rel in feeds)                         # the first item as it was, in every feed
    assert all(fake not in data.decode("utf-8", "replace") for data in after.values())


def entry_of(feed: bytes, link: str) -> bytes | None:
    """The serialized <item> or <entry> of one link in a feed (None: not in it)."""
    from lxml import etree
    root = etree.fromstring(feed)
    for el in root.iter("item", "{http://www.w3.org/2005/Atom}entry"):
        links = [x.text for x in el.iter("link")] + [x.get("href") for x in el.iter("{http://www.w3.org/2005/Atom}link")]
        if link in links:
            return etree.tostring(el)
    return None


def test_a_rendered_page_reaches_no_other_host(server, tmp_path):
    """render = "browser": a listing and an article page that try every way a
    page can make the browser ask another host (a loopback service that is
    no source's) get nothing from it: it sees no request at all, what was
    refused is reported, and its data is not published."""
    from conftest import need_browser
    need_browser()
    site, base = server
    internal = sitesrv.Site()
    internal_httpd = sitesrv.serve(internal)
    other = f"http://127.0.0.1:{internal_httpd.server_address[1]}"
    for path in ("/s.js", "/c.css", "/i.png", "/frame", "/api", "/xhr", "/beacon", "/events", "/ws", "/nav",
                 "/popup", "/prefetch", "/moved", "/refresh", "/form", "/img2.png", "/font.woff"):
        internal.pages[path] = sitesrv.Resource(b'"SECRET internal data"', "text/plain")
    reach = f"""
        <script src="{other}/s.js"></script><link rel="stylesheet" href="{other}/c.css">
        <link rel="prefetch" href="{other}/prefetch"><meta http-equiv="refresh" content="1;url={other}/refresh">
        <style>@font-face {{ font-family: x; src: url({other}/font.woff); }} body {{ font-family: x; }}</style>
        <img src="{other}/i.png"><img src="/redirect-out"><iframe src="{other}/frame"></iframe>
        <form id="f" action="{other}/form" method="post"><input name="a" value="1"></form>
        <script>
          fetch("{other}/api").then(r => r.text()).then(t => document.body.insertAdjacentHTML("beforeend", t));
          const x = new XMLHttpRequest(); x.open("GET", "{other}/xhr"); x.send();
          navigator.sendBeacon("{other}/beacon", "x");
          try {{ new EventSource("{other}/events"); }} catch (e) {{}}
          try {{ new WebSocket("{other.replace('http', 'ws')}/ws"); }} catch (e) {{}}
          if (navigator.serviceWorker) navigator.serviceWorker.register("/sw.js").catch(() => 0);
          const i = new Image(); i.src = "{other}/img2.png";
          window.open("{other}/popup");
          setTimeout(() => document.getElementById("f").submit(), 100);
          setTimeout(() => {{ location.href = "{other}/nav"; }}, 200);
        </script>"""
    site.pages["/sw.js"] = sitesrv.Resource(f'fetch("{other}/api");'.encode(), "text/javascript")
    site.pages["/redirect-out"] = sitesrv.Resource(b"", "text/plain", status=302, location=other + "/moved")
    site.pages["/news/a1.html"] = sitesrv.Resource(article("瀏覽器裡的文章", "2020-06-01 10:00:00", reach), HTML)
    site.pages["/news/"] = sitesrv.Resource(listing([("/news/a1.html", "瀏覽器裡的文章")]).replace(
        b"</body>", reach.encode() + b"</body>"), HTML)
    sources = web_source("portal", [f"{base}/news/"]).replace('type = "web"', 'type = "web"\nrender = "browser"') \
        .replace("[sources.article]\n", '[sources.article]\nrender = "browser"\n')
    try:
        summary = build(settings_for(tmp_path, base, sources))
    finally:
        internal_httpd.shutdown()
    assert internal.arrivals == []                                       # not one request reached it
    assert titles(tmp_path) == {"瀏覽器裡的文章"}
    published = b"".join(p.read_bytes() for p in (tmp_path / "feeds").rglob("*") if p.is_file())
    assert b"SECRET" not in published
    refused = {p.location: p.reason for p in summary.problems if "may not fetch" in p.reason}
    assert set(refused) == {f"{base}/news/", f"{base}/news/a1.html"}
    assert all(other.removeprefix("http://") in reason for reason in refused.values())
