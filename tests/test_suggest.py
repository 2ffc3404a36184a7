"""`feedpub suggest URL` on each HTML listing of the test portals: the block it
prints, appended to a configuration with only [site], [output] and [store],
publishes every article of that listing from the listing alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import feedparser
import pytest

import portals


def run(*args):
    return subprocess.run([sys.executable, "-m", "feedpub", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("path,category,articles", [
    ("/gov/tzgg/index.html", "政策法規/通知公告", portals.TRS_ARTICLES),
    ("/html/hyxw/index.html", "物流資訊/行業新聞", [a for a in portals.PHP_ARTICLES if a[0].endswith("行業新聞")]),
    ("/html/twwl/index.html", "物流資訊/台灣物流", [a for a in portals.PHP_ARTICLES if a[0].endswith("台灣物流")]),
], ids=["trs-script-pager", "phpcms", "phpcms-big5"])
def test_a_suggested_source_publishes_the_whole_listing(portal, path, category, articles):
    site, base, tmp = portal
    r = run("suggest", base + path, "--category", category)
    assert r.returncode == 0, r.stderr
    block = r.stdout
    assert f"# {min(len(articles), 5 if 'gov' in path else 4)} item(s) found" in block
    assert articles[0][1] in block                                   # the first titles, as comments
    cfg = tmp / "suggested.toml"
    cfg.write_text(textwrap.dedent(f"""
        [site]
        title = "建議"
        link = "{base}/"
        feeds_url = "https://feeds.example.com/"
        timezone = "Asia/Shanghai"
        [output]
        dir = "feeds"
        max_items = 100
        [store]
        url = "sqlite:///state.db"
    """) + block)
    r = run("build", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    titles = {e.title for e in feedparser.parse((tmp / "feeds" / "rss.xml").read_bytes()).entries}
    assert titles == {title for _, title, _, _ in articles}


def test_a_listing_a_script_fills_is_said_so(portal):
    site, base, tmp = portal
    r = run("suggest", base + "/news/list.html")
    assert r.returncode == 0 and "# unsure:" in r.stdout and "JSON endpoint" in r.stdout


HOSTILE_TITLES = [
    'Port news\n[[sources]]\nname = "leak"\ntype = "folder"\npath = "/etc"',
    'Ends a string """ and a table ]] [[sources]]',
    "A line separator\u2028and\u2029a paragraph one, \x1b[31mand an escape",
    'Quote " and backslash \\ and a tab\tin it',
    "Carriage\rreturn and a NUL\x00 byte",
]


def test_nothing_a_page_says_becomes_configuration(tmp_path):
    """Titles, URLs and a category made to break out of the printed TOML:
    the block parses with tomllib to exactly the one source it meant."""
    import html
    import tomllib

    import sitesrv
    site = sitesrv.Site()
    items = "".join(f'<li><a href="/news/2020/{n:03d}.html" title="{html.escape(t, quote=True)}">'
                    f'{html.escape(t)} 第{n}篇</a><span>2020-06-0{n + 1}</span></li>'
                    for n, t in enumerate(HOSTILE_TITLES))
    site.pages['/news/"quoted"]]\n.html'.replace("\n", "%0A").replace('"', "%22")] = sitesrv.Resource(
        f'<html><head><meta charset="utf-8"></head><body><ul class="list">{items}</ul></body></html>'.encode(),
        "text/html; charset=utf-8")
    httpd = sitesrv.serve(site)
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}" + '/news/%22quoted%22]]%0A.html'
        category = 'a"b\n[[sources]]\ntype = "folder"'
        r = run("suggest", url, "--category", category, "--name", 'n"]]\n[x]')
    finally:
        httpd.shutdown()
    assert r.returncode == 0, r.stderr
    parsed = tomllib.loads(r.stdout)
    assert list(parsed) == ["sources"] and len(parsed["sources"]) == 1
    (source,) = parsed["sources"]
    assert source["name"] == 'n"]]\n[x]' and source["type"] == "web"
    assert source["start"] == [{"url": url, "category": category}]
    assert set(source) <= {"name", "type", "start", "item", "title", "link", "date", "next_page", "page_url",
                           "max_pages", "article"}
    assert source.get("article", {"auto": True}) == {"auto": True}
    comments = [line for line in r.stdout.splitlines() if line.startswith("#")]
    assert any("Port news [[sources]] name" in line for line in comments)   # the title shown, on one line
