"""Three portal shapes (tests/portals.py) over real HTTP on 127.0.0.1, each
from configuration alone in the README's syntax: every article, its exact
time, source and category; pagination that stops where the site ends; the
problems reported; and a second build that changes nothing."""

from __future__ import annotations

import calendar
import textwrap
from datetime import datetime, timedelta, timezone

import feedparser
import pytest

import portals
import sitesrv
from conftest import need_browser
from feedpub import config
from feedpub.build import build

LATER = portals.NOW + timedelta(hours=1)


def configure(tmp_path, base, sources: str):
    cfg = tmp_path / "feedpub.toml"
    cfg.write_text(textwrap.dedent(f"""
        [site]
        title = "門戶測試"
        link = "{base}/"
        feeds_url = "https://feeds.example.com/"
        language = "zh-TW"
        timezone = "Asia/Shanghai"

        [output]
        dir = "feeds"
        max_items = 100

        [store]
        url = "sqlite:///state.db"
    """) + textwrap.dedent(sources).format(base=base))
    return config.load(cfg)


def published(tmp_path) -> dict[str, tuple[str, datetime, str]]:
    """title -> (category path, UTC instant, source), from the category feeds."""
    out = {}
    for feed in (tmp_path / "feeds").rglob("atom.xml"):
        if feed.parent.name == "archive":
            continue
        for e in feedparser.parse(feed.read_bytes()).entries:
            when = datetime.fromtimestamp(calendar.timegm(e.published_parsed), timezone.utc)
            out.setdefault(e.title, (e.tags[0].term if e.get("tags") else "", when, e.get("author", "")))
    return out


def expect(articles) -> dict[str, tuple[str, datetime, str]]:
    return {title: (category, when, source) for category, title, when, source in articles}


def second_build_changes_nothing(settings, tmp_path):
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (tmp_path / "feeds").rglob("*") if p.is_file()}
    s = build(settings, now=LATER)
    assert s.articles["new"] == 0 and s.articles["updated"] == 0 and s.written == 0
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (tmp_path / "feeds").rglob("*") if p.is_file()} == before


def test_a_trs_portal_with_a_script_pager(portal):
    site, base, tmp = portal
    settings = configure(tmp, base, portals.TRS_CONFIG)
    s = build(settings, now=LATER)
    assert s.errors == 0 and s.warnings == 0, s.problems
    got = published(tmp)
    want = expect(portals.TRS_ARTICLES)
    assert {t: got.get(t) for t in want} == want                       # every article, to the second
    assert "政策法規/通知公告/正文" not in {c for c, _, _ in got.values()}
    listings = [p for p in site.arrivals if "/index" in p]
    assert listings == ["/gov/tzgg/index.html", "/gov/tzgg/index_1.html", "/gov/tzgg/index_2.html",
                        "/gov/tzgg/index_3.html"]                       # stopped at the 404, unreported
    second_build_changes_nothing(settings, tmp)


def test_a_json_listing_paged_by_a_query_parameter(portal):
    site, base, tmp = portal
    settings = configure(tmp, base, portals.JSON_CONFIG)
    s = build(settings, now=LATER)
    assert s.errors == 0 and s.warnings == 0, s.problems
    assert published(tmp) == expect(portals.JSON_ARTICLES)            # listing alone: epoch s and ms
    asked = [p for p in site.arrivals if p.startswith("/api/")]
    assert asked == [f"/api/content/list?catid=12&page={n}&size=5" for n in (1, 2, 3, 4)] + \
                    [f"/api/content/list?catid=13&page={n}&size=5" for n in (1, 2, 3)]   # stops at an empty page
    second_build_changes_nothing(settings, tmp)


def test_a_json_listing_with_article_pages(portal):
    site, base, tmp = portal
    settings = configure(tmp, base, portals.JSON_CONFIG + portals.JSON_ARTICLE_SELECTORS)
    s = build(settings, now=LATER)
    assert s.errors == 0 and s.warnings == 0, s.problems
    assert published(tmp) == expect(portals.JSON_ARTICLES)
    second_build_changes_nothing(settings, tmp)


def test_a_phpcms_portal_with_relative_dates_and_a_byline(portal):
    site, base, tmp = portal
    settings = configure(tmp, base, portals.PHP_CONFIG)
    s = build(settings, now=LATER)
    assert s.errors == 0 and s.warnings == 0, s.problems
    got = published(tmp)
    want = expect(portals.PHP_ARTICLES)
    assert {t: got.get(t) for t in want} == want                       # Big5 too, times from the byline
    second_build_changes_nothing(settings, tmp)


def test_the_listing_date_stands_in_for_an_unusable_page_date(portal):
    site, base, tmp = portal
    for path, res in list(site.pages.items()):
        name = path.rpartition("/")[2]
        if path.startswith("/html/hyxw/") and name[0].isdigit():
            res.body = _drop_time(res.body)                             # the byline says 時間：不詳
    settings = configure(tmp, base, portals.PHP_CONFIG)
    build(settings, now=LATER)
    got = published(tmp)
    for category, title, when, source in portals.PHP_ARTICLES[:6]:     # listed as 半小時前 … 8小時前
        listed = got[title][1]
        assert abs(listed - when) < timedelta(hours=1), title          # from the listing, as precise as it says


def _drop_time(body: bytes) -> bytes:
    text = body.decode("utf-8")
    start = text.index("時間：")
    end = text.index(" 點擊：")
    return (text[:start] + "時間：不詳" + text[end:]).encode("utf-8")


def test_a_pattern_that_never_matches_is_reported(portal):
    site, base, tmp = portal
    settings = configure(tmp, base, portals.PHP_CONFIG.replace("來源：", "出處："))
    s = build(settings, now=LATER)
    warnings = [p.reason for p in s.problems if p.severity == "warning"]
    assert any("pattern of div.msgbar matched nothing" in w for w in warnings), warnings


def auto_only(cfg: str) -> str:
    """The same source with `auto = true` in place of the article selectors."""
    head, _, _ = cfg.partition("[sources.article]")
    return head + "[sources.article]\nauto = true\n"


@pytest.mark.parametrize("config_text,articles", [
    (portals.TRS_CONFIG, portals.TRS_ARTICLES),
    (portals.JSON_CONFIG + portals.JSON_ARTICLE_SELECTORS, portals.JSON_ARTICLES),
    (portals.PHP_CONFIG, portals.PHP_ARTICLES),
], ids=["trs", "json", "phpcms"])
def test_article_pages_read_without_selectors(portal, config_text, articles):
    site, base, tmp = portal
    settings = configure(tmp, base, auto_only(config_text))
    s = build(settings, now=LATER)
    assert s.errors == 0, s.problems
    got = published(tmp)
    want = expect(articles)
    assert set(got) >= set(want)                                          # every article
    exact = [t for t, (category, when, source) in want.items() if got[t][1] == when]
    assert len(exact) >= 0.95 * len(want), sorted(set(want) - set(exact))
    import sqlite3
    with sqlite3.connect(tmp / "state.db") as db:
        stored = dict(db.execute("SELECT title, source_name FROM articles"))
    assert {t: stored[t] for t in want} == {t: source for t, (_, _, source) in want.items()}   # label-free
    bodies = [e.content[0].value for f in (tmp / "feeds").rglob("atom.xml") if f.parent.name != "archive"
              for e in feedparser.parse(f.read_bytes()).entries]
    assert all("正文" in b or "通知" in b for b in bodies)                    # the main text, not the page around it
    assert not any("當前位置" in b or "點擊" in b for b in bodies)


def test_a_listing_that_exists_only_after_its_script_runs(portal):
    """render = "browser": headless Chromium (Debian's, through Playwright)
    runs the page's script, which fills the listing from the JSON endpoint."""
    need_browser()
    site, base, tmp = portal
    site.pages["/news/live.html"] = sitesrv.Resource(("""<html><head><meta charset="utf-8"></head><body>
        <ul id="list"></ul><script>
        fetch('/api/content/list?catid=12&page=1&size=5').then(r => r.json()).then(d => {
          document.getElementById('list').innerHTML = d.data.list.map(
            i => '<li><a href="' + i.url + '">' + i.title + '</a><span class="t">' + i.inputtime + '</span></li>').join('');
        });</script></body></html>""").encode(), "text/html; charset=utf-8")
    plain = configure(tmp, base, """
        [[sources]]
        name = "live"
        type = "web"
        delay = "0s"
        start = [{{ url = "{base}/news/live.html", category = "物流資訊/港口航運" }}]
        item = "#list li"
        title = "a"
        link = "a@href"
        date = "span.t"
    """)
    s = build(plain, now=LATER)
    assert s.articles["new"] == 0 and any("matched nothing" in p.reason for p in s.problems)   # the empty shell
    text = (tmp / "feedpub.toml").read_text().replace('type = "web"', 'type = "web"\nrender = "browser"')
    (tmp / "feedpub.toml").write_text(text)
    s = build(config.load(tmp / "feedpub.toml"), now=LATER)
    want = {title: when for _, title, when, _ in [a for a in portals.JSON_ARTICLES if a[0].endswith("港口航運")][:5]}
    assert {title: when for title, (_, when, _) in published(tmp).items()} == want, s.problems


def test_render_browser_without_playwright_is_a_clear_configuration_error(portal, monkeypatch):
    import importlib.util
    from feedpub import sources
    site, base, tmp = portal
    settings = configure(tmp, base, portals.TRS_CONFIG.replace('type = "web"', 'type = "web"\nrender = "browser"'))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "playwright" else real(name, *a))
    with pytest.raises(config.ConfigError, match=r"render.*pip install -e '\.\[browser\]'"):
        sources.check(settings)
