"""What aggregators and people get: JSON Feed twins, RFC 5005 archives, WebSub, the XSL view."""

from __future__ import annotations

import calendar
import json
import os
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
from lxml import etree

from conftest import NOW, configure, dump, edit_config
from feedpub import regenerate as regenerate_module

HYXW = "首頁 > 物流資訊 > 行業新聞"
GKHY = "首頁 > 物流資訊 > 港口航運"


def many(site, n, start=0, crumb=None):
    for i in range(start, start + n):
        c = crumb or (HYXW if i % 3 else GKHY)
        site.write(f"a{i:03d}.txt", dump(c, f"文章{i:03d}", f"2020/6/{i % 28 + 1} {i % 24}:{i % 60:02d}:07", "來處",
                                         f"第{i}篇。<a href='x'>不是鏈接</a>"))


def set_output(site, **values):
    configure(site, **values)


def instant(struct):
    return datetime.fromtimestamp(calendar.timegm(struct), timezone.utc)


def test_the_three_twins_agree(site):
    many(site, 12)
    site.build()
    for folder in ("", "wu-liu-zi-xun/", "wu-liu-zi-xun/hang-ye-xin-wen/"):
        rss, atom = site.feed(folder + "rss.xml"), site.feed(folder + "atom.xml")
        js = json.loads((site.out / (folder + "feed.json")).read_bytes())
        views = [[(e.id, e.link, e.title, instant(e.published_parsed)) for e in entries]
                 for entries in (rss.entries, atom.entries)]
        views.append([(i["id"], i["url"], i["title"],
                       datetime.fromisoformat(i["date_published"]).astimezone(timezone.utc)) for i in js["items"]])
        assert views[0] == views[1] == views[2] and len(views[0]) > 0
        assert [instant(e.updated_parsed) for e in atom.entries] == \
            [datetime.fromisoformat(i["date_modified"]).astimezone(timezone.utc) for i in js["items"]]
        assert rss.feed.language == atom.feed.language == js["language"] == "zh-CN"


def test_json_feed_has_what_the_1_1_spec_requires(site):
    many(site, 3)
    site.build()
    js = json.loads((site.out / "feed.json").read_bytes())
    assert js["version"] == "https://jsonfeed.org/version/1.1"
    assert js["title"] and js["home_page_url"].startswith("https://")
    assert js["feed_url"] == "https://news.example.com/feeds/feed.json"
    for item in js["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert item.get("content_html") or item.get("content_text")
        assert item["url"].startswith("https://")
        for key in ("date_published", "date_modified"):
            assert datetime.fromisoformat(item[key]).tzinfo is not None
        assert item["authors"] == [{"name": "來處"}] and item["tags"]


def test_formats_can_be_chosen(site):
    set_output(site, formats=["atom"])
    many(site, 2)
    site.build()
    assert (site.out / "atom.xml").exists()
    assert not (site.out / "rss.xml").exists() and not (site.out / "feed.json").exists()


def walk(site, rel):
    """Follow prev-archive links from a current feed, as an aggregator backfills."""
    seen, docs = [], []
    path = site.out / rel
    while path is not None:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo
        docs.append((path.relative_to(site.out).as_posix(), parsed))
        seen += [e.id for e in parsed.entries]
        prev = [link.href for link in parsed.feed.get("links", []) if link.rel == "prev-archive"]
        path = site.out / urlsplit(prev[0]).path.removeprefix("/feeds/") if prev else None
    return seen, docs


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_archives_reach_every_item_and_never_change(site, fmt):
    set_output(site, max_items=5, archive_page_size=5)
    many(site, 23, crumb=HYXW)
    site.build()
    ids, docs = walk(site, f"{fmt}.xml")
    assert [d for d, _ in docs] == [f"{fmt}.xml", f"archive/4.{fmt}.xml", f"archive/3.{fmt}.xml",
                                    f"archive/2.{fmt}.xml", f"archive/1.{fmt}.xml"]
    archived = [i for _, d in docs[1:] for i in (e.id for e in d.entries)]
    assert len(archived) == len(set(archived)) == 20                 # pages do not overlap
    all_ids = {e.id for e in feedparser.parse((site.out / "atom.xml").read_bytes()).entries} | set(archived)
    assert len(set(ids)) == 23 == len(all_ids)                        # every item reached
    raw = (site.out / f"archive/2.{fmt}.xml").read_bytes()
    assert b"http://purl.org/syndication/history/1.0" in raw and b"archive/>" in raw
    assert b"archive/>" not in (site.out / f"{fmt}.xml").read_bytes()
    before = {p.name: p.read_bytes() for p in (site.out / "archive").iterdir()}
    many(site, 9, start=100, crumb=HYXW)                              # 32 items: pages 5 and 6 close
    site.build(now=NOW + timedelta(days=1))
    after = {p.name: p.read_bytes() for p in (site.out / "archive").iterdir()}
    assert {k: after[k] for k in before} == before                   # closed pages: byte for byte
    assert set(after) - set(before) == {f"{n}.{f}.xml" for n in (5, 6) for f in ("rss", "atom")}
    ids, _ = walk(site, f"wu-liu-zi-xun/hang-ye-xin-wen/{fmt}.xml")
    assert len(set(ids)) == 32


def test_archive_pages_are_in_place_before_the_feeds_that_link_to_them(site):
    """A reader polling mid-publish must not follow prev-archive to a page
    that is not there yet: files are renamed in the order written, so every
    archive page (and article page) is written before its current feed."""
    set_output(site, max_items=5, archive_page_size=5)
    many(site, 23, crumb=HYXW)
    site.build()
    snap = site.snapshot()
    feeds = {rel: mtime for rel, (_, mtime) in snap.items() if rel.endswith(("/rss.xml", "/atom.xml"))
             or rel in ("rss.xml", "atom.xml")}
    for rel, (_, mtime) in snap.items():
        if "archive/" in rel:
            folder = rel.rpartition("archive/")[0]
            assert mtime <= feeds[folder + "rss.xml"] and mtime <= feeds[folder + "atom.xml"], rel
        if rel.startswith("articles/"):
            assert mtime <= min(feeds.values()), rel


def archive_walk(site, rel):
    """(ids on the current feed, ids on each archive page, oldest page last)."""
    ids, docs = walk(site, rel)
    return [e.id for e in docs[0][1].entries], [[e.id for e in d.entries] for _, d in docs[1:]]


def test_an_item_moved_to_another_category_keeps_every_archive_whole(site):
    """An edit files an old article under another category after both
    categories' archives have closed pages. Closed pages never change, no item
    appears on two archive pages, and each category's walk still reaches every
    item it holds (the moved one too, once, at the end of its new category)."""
    set_output(site, max_items=5, archive_page_size=5)
    later = NOW - timedelta(hours=1)
    for i in range(23):
        c = HYXW if i < 15 else GKHY
        site.write(f"a{i:03d}.txt", dump(c, f"文章{i:03d}", f"2020/6/{i + 1} 08:00:07", "來處", f"第{i}篇。"))
    site.build()
    hyxw, gkhy = "wu-liu-zi-xun/hang-ye-xin-wen", "wu-liu-zi-xun/gang-kou-hang-yun"
    before = {p.relative_to(site.out).as_posix(): p.read_bytes() for p in site.out.rglob("archive/*.xml")}
    assert f"{hyxw}/archive/3.atom.xml" in before and f"{gkhy}/archive/1.atom.xml" in before

    site.write("a001.txt", dump(GKHY, "文章001", "2020/6/2 08:00:07", "來處", "第1篇。"), mtime=later)
    site.build(now=NOW + timedelta(hours=1))
    for i in range(23, 41):                                 # enough for new pages to close in both
        c = HYXW if i % 2 else GKHY
        site.write(f"a{i:03d}.txt", dump(c, f"文章{i:03d}", f"2020/7/{i - 22} 08:00:07", "來處", f"第{i}篇。"))
    site.build(now=NOW + timedelta(hours=2))

    after = {p.relative_to(site.out).as_posix(): p.read_bytes() for p in site.out.rglob("archive/*.xml")}
    assert {k: after[k] for k in before} == before                        # closed pages: byte for byte
    assert set(after) - set(before)                                        # and new ones closed since
    moved = {e.title: e.id for e in site.feed("atom.xml").entries} | {
        e.title: e.id for rel in after if rel.endswith(".atom.xml") and rel.count("/") == 1
        for e in feedparser.parse(after[rel]).entries}
    moved_id = moved["文章001"]
    for folder, holds in ((hyxw, {i for i in range(41) if (i < 15 or (i >= 23 and i % 2)) and i != 1}),
                          (gkhy, {i for i in range(41) if (15 <= i < 23 or (i >= 23 and not i % 2)) or i == 1})):
        for fmt in ("rss", "atom"):
            current, pages = archive_walk(site, f"{folder}/{fmt}.xml")
            archived = [i for page in pages for i in page]
            assert len(archived) == len(set(archived)), (folder, fmt)     # no item on two pages
            titles = {e.title for e in site.feed(f"{folder}/{fmt}.xml").entries}
            reached = set(current) | set(archived)
            wanted = {moved[f"文章{i:03d}"] for i in holds if f"文章{i:03d}" in moved}
            assert len(wanted) == len(holds) and wanted <= reached, (folder, fmt, titles)
            if folder == hyxw:
                assert moved_id in pages[-1]            # page 1 was closed with it: history stays


_PARENT = os.getpid()
_REAL_WORKER = regenerate_module._worker


def _noted_worker(settings, chans, url, authority, step, work, owner):
    """_worker, noting which process ran which step; with DIE in the output
    folder, the worker handed the all-feed's archive page 3, and the one
    handed the first article page, exit on the spot."""
    notes = settings.output.dir.parent / "workers"
    notes.mkdir(exist_ok=True)
    (notes / f"{os.getpid()}{step}").write_text(str(len(work)))
    if os.getpid() != _PARENT and (notes / "DIE").exists() and (
            any(job[1] == "" and job[2] == 3 for job in work) if step == "_render_archives" else min(work) == 1):
        os._exit(9)
    return _REAL_WORKER(settings, chans, url, authority, step, work, owner)


def test_pages_from_worker_processes_equal_those_rendered_in_one(tmp_path, monkeypatch):
    """A first build renders its many article and archive pages on every
    core; they, and every other file, must be the bytes one process writes.
    A worker that dies (killed, out of memory) costs nothing: its pages are
    rendered here."""
    from conftest import make_site
    monkeypatch.setattr(regenerate_module, "_worker", _noted_worker)
    outputs, sites = {}, {}
    for mode, minimum in (("serial", 10**9), ("workers", 1), ("dying", 1)):
        monkeypatch.setattr(regenerate_module, "PARALLEL_PAGES", minimum)
        (tmp_path / mode).mkdir()
        site = sites[mode] = make_site(tmp_path / mode)
        set_output(site, max_items=5, archive_page_size=5)
        if mode == "dying":
            (tmp_path / mode / "workers").mkdir()
            (tmp_path / mode / "workers" / "DIE").write_text("")
        many(site, 43)
        s = site.build()
        assert s.articles["new"] == 43 and not s.problems
        outputs[mode] = {rel: data for rel, (data, _) in site.snapshot().items() if not rel.endswith(".json")}
        notes = {p.name for p in (tmp_path / mode / "workers").glob("[0-9]*")} \
            if (tmp_path / mode / "workers").exists() else set()
        for step in ("_article_pages", "_render_archives"):
            pids = {n.removesuffix(step) for n in notes if n.endswith(step)}
            assert (len(pids) >= 2 and str(os.getpid()) not in pids) if mode != "serial" else not pids
    assert outputs["workers"] == outputs["serial"]
    assert {rel: data for rel, data in outputs["dying"].items() if not rel.rsplit("/", 1)[-1].startswith(".")} \
        == outputs["serial"]
    archives = [rel for rel in outputs["serial"] if "/archive/" in "/" + rel]
    assert len(archives) == 2 * (8 + 8 + 5 + 3)        # all, parent, two leaves (28 and 15 items)
    assert len([rel for rel in outputs["serial"] if rel.startswith("articles/")]) == 43
    ids, docs = walk(sites["workers"], "rss.xml")
    archived = [e.id for _, d in docs[1:] for e in d.entries]
    assert len(set(ids)) == 43 and len(archived) == len(set(archived)) == 40


class Hub:
    """A WebSub hub on 127.0.0.1 that records publish pings."""

    def __init__(self, fail_first: int = 0):
        self.pings: list[str] = []
        self.fail_first = fail_first
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                if hub.fail_first > 0:
                    hub.fail_first -= 1
                    self.send_response(503)
                else:
                    assert form["hub.mode"] == ["publish"]
                    hub.pings.append(form["hub.url"][0])
                    self.send_response(204)
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def hub():
    h = Hub()
    yield h
    h.close()


def with_hub(site, url):
    edit_config(site, websub={"hubs": [url]})


def run_build(site):
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "feedpub", "build", "--config", str(site.config_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r


def test_websub_pings_exactly_the_changed_feeds(site, hub):
    with_hub(site, hub.url)
    many(site, 4)
    run_build(site)
    feeds = sorted("https://news.example.com/feeds/" + p.relative_to(site.out).as_posix()
                   for p in site.out.rglob("*") if p.name in ("rss.xml", "atom.xml", "feed.json"))
    assert sorted(hub.pings) == feeds                                  # first build: every feed is new
    raw = (site.out / "rss.xml").read_text()
    assert f'href="{hub.url}" rel="hub"' in raw and 'rel="self"' in raw
    assert json.loads((site.out / "feed.json").read_text())["hubs"] == [{"type": "WebSub", "url": hub.url}]
    hub.pings.clear()
    run_build(site)
    assert hub.pings == []                                             # nothing changed: no ping
    site.write("new.txt", dump(GKHY, "港口新聞", "2020/6/30 10:00:00", "來處"))
    run_build(site)
    base = "https://news.example.com/feeds/"
    assert sorted(hub.pings) == sorted(base + p + f for p in ("", "wu-liu-zi-xun/", "wu-liu-zi-xun/gang-kou-hang-yun/")
                                       for f in ("rss.xml", "atom.xml", "feed.json"))


def test_a_failing_hub_is_retried_and_logged(site):
    from feedpub.websub import ping
    h = Hub(fail_first=2)
    try:
        result = ping([h.url], ["https://news.example.com/feeds/rss.xml"], backoff=0.05)
        assert result == {(h.url, "https://news.example.com/feeds/rss.xml"): True} and len(h.pings) == 1
    finally:
        h.close()
    result = ping(["http://127.0.0.1:9/"], ["https://news.example.com/feeds/rss.xml"], retries=1, backoff=0.01)
    assert list(result.values()) == [False]


def test_the_xsl_view_renders_items_for_people(site):
    many(site, 3)
    site.build()
    raw = (site.out / "wu-liu-zi-xun/hang-ye-xin-wen/atom.xml").read_bytes()
    assert b'<?xml-stylesheet type="text/xsl" href="../../feed.xsl"?>' in raw
    xslt = etree.XSLT(etree.parse(str(site.out / "feed.xsl")))
    for rel in ("rss.xml", "atom.xml"):
        page = str(xslt(etree.parse(str(site.out / rel))))
        for e in site.feed(rel).entries:
            assert e.title in page
        assert "这是一个订阅源" in page and "https://news.example.com/feeds/" + rel in page


def test_summaries_only_and_size_cap(site):
    set_output(site, full_text=False, max_bytes=20000)
    for i in range(40):
        site.write(f"big{i}.txt", dump(HYXW, f"長文{i:02d}", f"2020/6/{i % 28 + 1} 10:{i:02d}:00", "來處", "很長的正文。" * 300))
    site.build()
    raw = (site.out / "rss.xml").read_bytes()
    assert b"content:encoded>" not in raw and b"<description>" in raw
    set_output(site, full_text=True)
    site.build()
    for rel in ("rss.xml", "atom.xml", "feed.json"):
        assert (site.out / rel).stat().st_size <= 20000
    n = len(site.feed("rss.xml").entries)
    assert 0 < n < 40
    assert [e.title for e in site.feed("rss.xml").entries] == \
        [e.title for e in site.feed("wu-liu-zi-xun/hang-ye-xin-wen/rss.xml").entries][:n]


def test_links_inside_content_are_absolute(site):
    site.write("md.md", "---\ntitle: 相對鏈接\ndate: 2020-06-01 10:00\ncategories: 甲\n---\n"
                        "[圖](/img/a.png) [頁](sub/page.html) ![x](pic.png)\n")
    site.build()
    body = site.feed("atom.xml").entries[0].content[0].value
    assert 'href="https://news.example.com/img/a.png"' in body
    assert 'href="https://news.example.com/sub/page.html"' in body
    assert 'src="https://news.example.com/pic.png"' in body


def test_feed_metadata_readers_show(site):
    edit_config(site, site={"copyright": "© 2020 物流資訊網", "icon": "https://news.example.com/favicon.png",
                            "logo": "https://news.example.com/logo.png"})
    many(site, 2)
    site.build()
    rss, atom = site.feed("rss.xml"), site.feed("atom.xml")
    assert rss.feed.rights == atom.feed.rights == "© 2020 物流資訊網"
    assert rss.feed.image.href == "https://news.example.com/logo.png"
    assert atom.feed.icon == "https://news.example.com/favicon.png"
    raw = (site.out / "rss.xml").read_text()
    assert "<ttl>5</ttl>" in raw and "<sy:updatePeriod>hourly</sy:updatePeriod>" in raw
    assert atom.feed.generator_detail.version and atom.feed.generator == "feedpub"


def test_an_archive_page_deleted_by_hand_is_restored(site):
    set_output(site, max_items=5, archive_page_size=5)
    many(site, 23, crumb=HYXW)
    site.build()
    pages = {p: p.read_bytes() for p in site.out.rglob("archive/*.xml")}
    (site.out / "archive/1.rss.xml").unlink()
    (site.out / "wu-liu-zi-xun/archive/2.atom.xml").unlink()
    s = site.build(full=True)
    assert s.written >= 2
    assert {p: p.read_bytes() for p in site.out.rglob("archive/*.xml")} == pages   # byte for byte
    ids, _ = walk(site, "rss.xml")
    assert len(set(ids)) == 23                                                  # the walk is whole again


def test_websub_pings_every_feed_of_a_first_build_with_many_categories(site, hub):
    """Past PARALLEL_CHANNELS categories, worker processes render the
    current feeds: the feeds they changed are still pinged, every one."""
    from feedpub.regenerate import PARALLEL_CHANNELS
    with_hub(site, hub.url)
    for n in range(PARALLEL_CHANNELS + 5):
        site.write(f"c{n}.txt", dump(f"首頁 > 欄目{n}", f"第{n}欄的新聞", "2020/6/1 10:00:00", "來處"))
    run_build(site)
    feeds = sorted("https://news.example.com/feeds/" + p.relative_to(site.out).as_posix()
                   for p in site.out.rglob("*") if p.name in ("rss.xml", "atom.xml", "feed.json"))
    assert len(feeds) == 3 * (PARALLEL_CHANNELS + 6)                  # every category's, and the all-feed's
    assert sorted(hub.pings) == feeds
