"""Listings only a browser or an API shows (issue 23): a shell its script
fills from an endpoint no string names whole, found by watching the
page's requests in headless Chromium; a WordPress archive read through
the site's REST API. `feedpub suggest HOME`, appended to a bare
configuration, publishes every article with its exact time, once."""

from __future__ import annotations

import tomllib

import pytest

import scriptsite
import sitesrv
from conftest import need_browser
from test_one_command import bare_config, published, run, without_delay


@pytest.fixture
def scripted(tmp_path):
    with sitesrv.served(scriptsite.script_site) as (site, base):
        yield site, base, tmp_path


def test_wordpress_api_and_a_script_filled_listing_from_the_home_page(scripted):
    need_browser()
    site, base, tmp = scripted
    r = run("suggest", base + "/")
    assert r.returncode == 0, r.stderr
    blocks = {b["start"][0]["category"]: b for b in tomllib.loads(r.stdout)["sources"]}
    assert list(blocks) == list(scriptsite.CATEGORIES)
    flash = blocks["快讯"]
    assert flash["start"][0]["url"] == base + "/cms/content/query?channel=12&pageNo=1"   # seen, not guessed
    assert flash["listing"] == "json" and flash["page_param"] == "pageNo" and flash["article"] == {"auto": True}
    assert "seen in headless Chromium" in r.stdout
    wp = blocks["博客/港口"]
    assert wp["start"][0]["url"] == base + "/wp-json/wp/v2/posts?categories=12&page=1"
    assert (wp["listing"], wp["date"], wp["timezone"], wp["title"]) == ("json", "date_gmt", "UTC", "title.rendered")
    assert "not used: 关于我们" in r.stdout
    cfg = tmp / "feedpub.toml"
    cfg.write_text(bare_config(tmp, base) + r.stdout, encoding="utf-8")
    without_delay(cfg)
    r = run("build", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "0 error(s), 0 warning(s)" in r.stdout, r.stdout + r.stderr        # past the last API page: not a problem
    items = published(tmp)
    assert len(items) == len({title for title, _, _ in items})                  # no duplicate
    assert {title: (category, when) for title, category, when in items} == {
        title: (category, when) for category, title, _, when in scriptsite.ARTICLES}
    before = {p: p.stat().st_mtime_ns for p in (tmp / "feeds").rglob("*") if p.is_file()}
    r = run("build", "--config", str(cfg))
    assert r.returncode == 0 and "0 new" in r.stdout, r.stderr
    assert {p: p.stat().st_mtime_ns for p in (tmp / "feeds").rglob("*") if p.is_file()} == before   # nothing written


def test_a_json_title_written_as_html_is_published_as_text():
    """APIs hand titles as HTML (WordPress's title.rendered): entities and
    tags are read, plain text is left alone."""
    from feedpub.sources.web import _as_text
    assert _as_text("码头&#8220;智慧&#8221;改造 &amp; 升级") == "码头“智慧”改造 & 升级"
    assert _as_text("<em>快讯</em>：运价回落") == "快讯：运价回落"
    for plain in ("AT&T 5G 商用", "3 < 5 的比较", "R&D 投入", None):
        assert _as_text(plain) == plain
