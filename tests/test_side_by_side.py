"""`feedpub build` over many sites (issue 26): sources on different hosts are
fetched side by side, one host never gets two requests at once (unless
[web] per_host says so), and the files are the same as one source after
another would make. Real HTTP on 127.0.0.1: each server is a host."""

from __future__ import annotations

import textwrap
import threading
from datetime import datetime, timezone

import pytest

import sitesrv
from conftest import web_site_config
from feedpub import config
from feedpub.build import build

HTML = "text/html; charset=utf-8"
NOW = datetime(2020, 7, 2, tzinfo=timezone.utc)


def portal(n: int, articles: int = 4, site: sitesrv.Site | None = None, folder: str = "news") -> sitesrv.Site:
    """A site (or one more listing of `site`) of `articles` article pages."""
    site = site or sitesrv.Site()
    items = ""
    for k in range(articles):
        title = f"第{n}站第{k}篇：港口吞吐量穩步回升"
        site.pages[f"/{folder}/{k}.html"] = sitesrv.Resource(
            (f'<html><head><meta charset="utf-8"></head><body><h1>{title}</h1><div class="info">'
             f'2020-06-{10 + k:02d} {8 + n:02d}:{k:02d}:{n:02d}</div><div class="content"><p>{title}。</p></div>'
             f'</body></html>').encode(), HTML, delay=0.02)
        items += f'<li><a href="/{folder}/{k}.html">{title}</a></li>'
    site.pages[f"/{folder}/"] = sitesrv.Resource(
        f'<html><head><meta charset="utf-8"></head><body><ul class="list">{items}</ul></body></html>'.encode(), HTML)
    return site


def configure(root, bases: list[str], more: str = "", folders: list[str] | None = None):
    root.mkdir(parents=True, exist_ok=True)
    sources = "".join(textwrap.dedent(f"""
        [[sources]]
        name = "site{n}"
        type = "web"
        delay = "0s"
        robots = false
        concurrency = 2
        start = [{{ url = "{base}/{(folders or ["news"] * len(bases))[n]}/", category = "港航/第{n}站" }}]
        item = "ul.list li"
        title = "a"
        link = "a@href"
        [sources.article]
        title = "h1"
        date = ".info"
        body = "div.content"
    """) for n, base in enumerate(bases))
    cfg = root / "feedpub.toml"
    cfg.write_text(web_site_config(bases[0], "聚合") + more + sources, encoding="utf-8")
    return config.load(cfg)


@pytest.fixture(autouse=True, params=["threads", "processes"])
def fetching(request, monkeypatch):
    """Every test twice: sources fetched by threads of the build, and (as from
    PROCESS_FETCH_MIN web sources on) gathered by worker processes."""
    if request.param == "processes":
        monkeypatch.setattr("feedpub.build.PROCESS_FETCH_MIN", 2)
    return request.param


@pytest.fixture
def hosts():
    sites, servers = [], []

    def start(*made: sitesrv.Site) -> list[str]:
        for site in made:
            sites.append(site)
            servers.append(sitesrv.serve(site))
        return [f"http://127.0.0.1:{s.server_address[1]}" for s in servers[-len(made):]]
    yield start
    for httpd in servers:
        httpd.shutdown()


def test_two_hosts_are_fetched_side_by_side(hosts, tmp_path):
    """Each host's third article answers only once the other host's is
    being asked for too: a build fetching one source after the other
    would break the meeting (after 10 s) instead."""
    a, b = portal(0), portal(1)
    meeting = threading.Barrier(2, timeout=10)
    a.pages["/news/2.html"].meet = b.pages["/news/2.html"].meet = meeting
    summary = build(configure(tmp_path, hosts(a, b)), now=NOW)
    assert a.met == b.met == [True]
    assert summary.articles["new"] == 8 and not summary.problems


@pytest.mark.parametrize("per_host,most", [(None, 1), (2, 2)])
def test_one_host_gets_one_request_at_a_time_unless_per_host_says_more(hosts, tmp_path, per_host, most):
    """Two sources on one host, each fetching two article pages at once:
    the host still sees one request at a time ([web] per_host = 1 by
    default); with per_host = 2, two."""
    site = portal(1, articles=8, site=portal(0, articles=8), folder="more")
    (base,) = hosts(site)
    more = f"[web]\nper_host = {per_host}\n" if per_host else ""
    settings = configure(tmp_path, [base, base], more, folders=["news", "more"])
    summary = build(settings, now=NOW)
    assert summary.articles["new"] == 16 and not summary.problems
    assert site.most_in_flight == most


def test_side_by_side_and_one_by_one_publish_the_same_bytes(hosts, tmp_path):
    bases = hosts(*(portal(n) for n in range(4)))
    build(configure(tmp_path / "together", bases), now=NOW)
    one_by_one = configure(tmp_path / "apart", bases)
    for source in one_by_one.sources:
        build(one_by_one, sources=[source], now=NOW)

    def files(root):
        return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    together, apart = files(tmp_path / "together" / "feeds"), files(tmp_path / "apart" / "feeds")
    assert together and together == apart


def test_a_quiet_build_asks_each_listing_once_and_nothing_else(hosts, tmp_path):
    """Nothing new on three sites: one conditional request per listing (a
    304), no robots.txt asked again within its day, no article page."""
    sites = [portal(n) for n in range(3)]
    for site in sites:
        site.pages["/robots.txt"] = sitesrv.Resource(b"User-agent: *\nDisallow: /private/\n", "text/plain")
    bases = hosts(*sites)
    path = configure(tmp_path, bases).path
    path.write_text(path.read_text(encoding="utf-8").replace("robots = false\n", ""), encoding="utf-8")
    settings = config.load(path)
    build(settings, now=NOW)
    assert all(site.requests("/robots.txt") == 1 for site in sites)
    for site in sites:
        site.log.clear()
    again = build(settings, now=NOW)
    assert again.articles["new"] == 0 and not again.problems
    assert all(site.log == [("GET", "/news/", 304)] for site in sites), [site.log for site in sites]


def test_a_robots_txt_is_used_for_a_day():
    from feedpub.sources.http import robots_fresh
    assert robots_fresh(1000.0, 1000) and robots_fresh(1000.0, 1001)          # fetched "in" this second
    assert robots_fresh(1000.0 + 86399, 1000) and not robots_fresh(1000.0 + 86400, 1000)
    assert not robots_fresh(1000.0, 1000 + 3600)                              # from a clock far ahead: ask again


def test_status_and_metrics_show_what_was_asked_of_each_host(hosts, tmp_path):
    """Per host: requests, how many a 304 answered, seconds on the network
    (`feedpub status --json` and /metrics), added up over builds."""
    from prometheus_client.parser import text_string_to_metric_families

    from feedpub.build import open_store
    from feedpub.metrics import exposition
    from feedpub.scheduler import status_document
    sites = [portal(n) for n in range(2)]
    bases = hosts(*sites)
    settings = configure(tmp_path, bases)
    build(settings, now=NOW, record=True)
    build(settings, now=NOW, record=True)                    # nothing new: one 304 per host
    store = open_store(settings)
    try:
        doc = status_document(store.status())
        samples = {(s.name, s.labels.get("host")): s.value for family in
                   text_string_to_metric_families(exposition(store)().decode()) for s in family.samples}
    finally:
        store.close()
    by_host = {h["host"]: h for h in doc["hosts"]}
    for base, site in zip(bases, sites):
        host = base.removeprefix("http://")
        assert by_host[host]["requests"] == len(site.arrivals) == 6           # listing, 4 articles, then a 304
        assert by_host[host]["not_modified"] == 1 and by_host[host]["network_seconds"] > 0
        assert samples[("feedpub_host_requests_total", host)] == 6
        assert samples[("feedpub_host_not_modified_total", host)] == 1


def test_sources_are_grouped_for_the_workers_by_the_hosts_they_start_on():
    """One group per worker at most, each host's sources in one group (one
    process asks that host, so per_host holds), sizes balanced, the
    configured order kept within a group. A pure function."""
    from types import SimpleNamespace as NS

    from feedpub.fetch_workers import groups

    def source(name, *urls):
        return NS(name=name, web=NS(start=[NS(url=u) for u in urls]))
    sources = [source("a", "http://one.example/x/"), source("b", "http://two.example/"),
               source("c", "http://ONE.example/y/", "http://three.example/"), source("d", "http://four.example/"),
               source("e", "http://three.example/z/"), source("f", "http://five.example/")]
    made = groups(sources, 2)
    names = [[s.name for s in g] for g in made]
    assert sorted(n for g in names for n in g) == list("abcdef")
    assert any({"a", "c", "e"} <= set(g) for g in names)           # one.example and three.example: one group
    assert all(g == sorted(g) for g in names)
    assert sorted(len(g) for g in names) == [3, 3]
    assert [[s.name for s in g] for g in groups(sources, 8)] and len(groups(sources, 8)) == 4   # 4 host clusters
    assert groups(sources[:1], 2) == [sources[:1]]


def test_a_fetching_worker_that_dies_costs_nothing_its_sources_are_gathered_here():
    """Real worker processes: one group's worker dies before sending
    anything (killed, out of memory); its sources are gathered by the
    fallback in this process, the other group's come from its worker."""
    from types import SimpleNamespace as NS

    import fetchtasks
    from feedpub.fetch_workers import spread

    sources = [NS(name=f"s{n}", web=NS(start=[NS(url=f"http://h{n}.example/")])) for n in range(4)]
    progress = fetchtasks.Counted()
    ahead = spread(sources, fetchtasks.first_group_dies, ("payload",), workers=2, limit=8, progress=progress,
                   fallback=lambda s: ("here", s.name))
    try:
        got = {name: future.result(timeout=60) for name, future in ahead.items()}
    finally:
        ahead.close()
    dead = {s.name for s in sources} - {name for name, value in got.items() if value[0] is None}
    assert dead and all(got[name] == ("here", name) for name in dead)
    assert all(value == (None, ("payload", name)) for name, value in got.items() if name not in dead)
    assert progress.fetched == 4 - len(dead)                     # the worker's pages were counted


def test_worker_processes_gather_only_when_enough_sources_read_every_page():
    """Workers for a first build (or --full) of PROCESS_FETCH_MIN web sources
    or more, then for all the web sources at once (one process per host);
    never for a quiet re-gather of known sources, nor for browser-rendered
    or SQL sources. A pure decision, on what the store remembers."""
    from types import SimpleNamespace as NS

    from feedpub.build import PROCESS_FETCH_MIN, _worth_workers

    class Remembers:
        def __init__(self, names):
            self.names = set(names)

        def remembering(self):
            return self.names
    web = [NS(name=f"w{n}", type="web", web=NS(render="http")) for n in range(PROCESS_FETCH_MIN + 3)]
    others = [NS(name="b", type="web", web=NS(render="browser")), NS(name="q", type="sql", web=None)]
    sources = web + others
    assert _worth_workers(Remembers([]), sources, full=False) == web
    assert _worth_workers(Remembers(["w0", "w1", "w2"]), sources, full=False) == web          # 8 new: all web
    assert _worth_workers(Remembers(["w0", "w1", "w2", "w3"]), sources, full=False) == []     # 7 new
    assert _worth_workers(Remembers([s.name for s in web]), sources, full=True) == web        # --full reads all
    assert _worth_workers(Remembers([]), web[:PROCESS_FETCH_MIN - 1] + others, full=False) == []


def test_a_site_that_fails_costs_its_source_only(hosts, tmp_path):
    """A portal whose listing is gone (404) is a problem of its source,
    named; the other sites publish all their articles, gathered by threads
    or by worker processes alike."""
    sites = [portal(n) for n in range(3)]
    sites[1].pages["/news/"] = sitesrv.Resource(b"gone", "text/plain", status=404)
    summary = build(configure(tmp_path, hosts(*sites)), now=NOW)
    assert [p.source for p in summary.problems] == ["site1"] and "HTTP 404" in summary.problems[0].reason
    assert summary.articles["new"] == 8
    feed = (tmp_path / "feeds" / "rss.xml").read_text(encoding="utf-8")
    assert "第0站第3篇" in feed and "第2站第3篇" in feed and "第1站" not in feed


def test_ctrl_c_stops_a_build_at_once_and_the_next_build_publishes_what_was_stored(hosts, tmp_path, fetching):
    """Ctrl-C in a build over slow sites: one line, no traceback, exit 130,
    without waiting for the sites still being fetched; the next build
    publishes every article once (what was stored stays, nothing twice).
    Eight sites make the `feedpub build` process gather them in worker
    processes (its PROCESS_FETCH_MIN), two in threads."""
    import signal
    import subprocess
    import sys

    from conftest import wait_for
    count = 8 if fetching == "processes" else 2
    sites = [portal(n, articles=12) for n in range(count)]
    for site in sites:
        for k in range(12):
            site.pages[f"/news/{k}.html"].delay = 0.3
    settings = configure(tmp_path, hosts(*sites))
    proc = subprocess.Popen([sys.executable, "-m", "feedpub", "build", "--config", str(settings.path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    wait_for(lambda: all(len(site.arrivals) >= 3 for site in sites), timeout=30)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted: what was stored is published by the next build" in err and "Traceback" not in err, err
    assert sum(len(site.arrivals) for site in sites) < count * 13        # it did not fetch on to the end
    again = subprocess.run([sys.executable, "-m", "feedpub", "build", "--config", str(settings.path)],
                           capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert again.returncode == 0, again.stderr
    import feedparser
    items = {(e.id, e.title) for path in [tmp_path / "feeds" / "rss.xml", *(tmp_path / "feeds" / "archive").glob("*.rss.xml")]
             for e in feedparser.parse(str(path)).entries}                  # the all-feed and its archive pages
    assert sorted(title for _, title in items) == \
        sorted(f"第{n}站第{k}篇：港口吞吐量穩步回升" for n in range(count) for k in range(12))   # each once, one id


def test_a_fetching_workers_exception_arrives_whole_or_as_its_text():
    """What a source raised in a worker goes through the pipe as itself
    (its type decides how the build reports it), or, if it cannot be
    pickled, as a RuntimeError saying the same."""
    import threading

    from feedpub.fetch_workers import sendable
    from feedpub.sources import SourceError

    plain = SourceError("no listing page could be fetched")
    assert sendable(plain) is plain

    class Holding(Exception):
        def __init__(self, lock):
            super().__init__("held")
            self.lock = lock
    sent = sendable(Holding(threading.Lock()))
    assert isinstance(sent, RuntimeError) and str(sent) == "Holding: held"
