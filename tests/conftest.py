"""Shared fixtures: a real site on disk (config, inbox folder, output, SQLite store)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import feedparser
import pytest
import tomli_w

from feedpub import config
from feedpub.build import build

# The instant the sample files were "gathered" (their mtime) in most tests.
GATHERED = datetime(2020, 7, 1, 1, 30, tzinfo=timezone.utc)
NOW = datetime(2020, 7, 2, 0, 0, tzinfo=timezone.utc)


def wait_for(cond, timeout: float = 10.0, step: float = 0.02):
    """Poll `cond` until it is true (returned) or the deadline passes (an
    AssertionError): tests wait for conditions, never for fixed times."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


def dump(crumb: str, title: str, when: str | None, source: str | None, *paragraphs: str) -> str:
    """A scraped page in the layout of the portal's text dumps."""
    lines = [f"當前位置: {crumb} > {title[:12]}...", "", f"    {title}", ""]
    if when is not None:
        lines += [f"    {when}", ""]
    if source is not None:
        lines += [f"    來源:{source}", ""]
    for p in paragraphs or ("正文第一段。",):
        lines += [f"      {p}", ""]
    return "\n".join(lines)


@dataclass
class Site:
    root: Path
    inbox: Path
    out: Path
    config_path: Path

    def settings(self):
        return config.load(self.config_path)

    def write(self, rel: str, content: str | bytes, mtime: datetime = GATHERED) -> Path:
        path = self.inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
        return path

    def build(self, now: datetime = NOW, **kw):
        return build(self.settings(), now=now, **kw)

    def feed(self, rel: str = "rss.xml"):
        parsed = feedparser.parse((self.out / rel).read_bytes())
        assert not parsed.bozo, parsed.bozo_exception
        return parsed

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        """Every output file's bytes and mtime."""
        return {p.relative_to(self.out).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
                for p in sorted(self.out.rglob("*")) if p.is_file()}


def config_text(site: Site, /, *, source: dict | None = None, more_sources=(), **tables) -> str:
    """The site's configuration changed as data, not as text: parsed,
    updated table by table (a key set to None is removed; a list, such as
    `feeds`, replaces the array of tables), written out by tomli-w.
    `source` updates the first [[sources]] entry; `more_sources` are added."""
    data = tomllib.loads(site.config_path.read_text(encoding="utf-8"))
    data["sources"] += list(more_sources)
    for name, value in tables.items():
        if isinstance(value, list):
            data[name] = value
        else:
            data.setdefault(name, {}).update(value)
    if source:
        data["sources"][0].update(source)
    for table in [data.get(name) for name in tables] + [data["sources"][0]]:
        if isinstance(table, dict):
            for key in [k for k, v in table.items() if v is None]:
                del table[key]
    return tomli_w.dumps(data)


def edit_config(site: Site, /, **changes) -> None:
    """`config_text`, written back to the site's configuration file."""
    site.config_path.write_text(config_text(site, **changes), encoding="utf-8")


def configure(site: Site, **output) -> None:
    """Set keys of the site's [output] table."""
    edit_config(site, output=output)


def peak_build(config_path) -> dict:
    """Build in a fresh process; its problems, new articles and peak memory (KB)."""
    probe = textwrap.dedent(f"""
        import json, resource
        from feedpub import config
        from feedpub.build import build
        s = build(config.load({str(config_path)!r}))
        print(json.dumps({{"problems": [[p.location, p.reason] for p in s.problems],
                          "new": s.articles["new"],
                          "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
    """)
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture
def portal(tmp_path):
    """The three test portals (tests/portals.py) on one server on 127.0.0.1."""
    import portals
    import sitesrv
    site = sitesrv.Site(date=portals.NOW)
    portals.trs_site(site)
    portals.json_site(site)
    portals.php_site(site)
    httpd = sitesrv.serve(site)
    yield site, f"http://127.0.0.1:{httpd.server_address[1]}", tmp_path
    httpd.shutdown()


PG_ADMIN = os.environ.get("FEEDPUB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def web_site_config(base: str, title: str = "測試站", max_items: int = 50) -> str:
    """The [site], [output] and [store] of a configuration for a test site
    served at `base` (the web tests append their [[sources]])."""
    return textwrap.dedent(f"""
        [site]
        title = "{title}"
        link = "{base}/"
        feeds_url = "https://feeds.example.com/"
        timezone = "Asia/Shanghai"
        [output]
        dir = "feeds"
        max_items = {max_items}
        [store]
        url = "sqlite:///state.db"
    """)


def need_browser() -> None:
    """Skip a render = "browser" test where Playwright or Chromium is missing
    (with the reason); in CI (CI=true) fail instead: CI installs both."""
    from feedpub.sources.browser import available
    why = available()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to run this test: {why}")
        pytest.skip(why)


def new_pg_database() -> str:
    """The URL of a new, empty PostgreSQL database on 127.0.0.1 (drop_pg_database drops it).

    No server is a failure, not a skip: the store must be tested on both engines."""
    import uuid

    import sqlalchemy as sa
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = "feedpub_test_" + uuid.uuid4().hex[:12]
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN} ({exc.orig}); start it, or set FEEDPUB_TEST_PG")
    finally:
        admin.dispose()
    return sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    import sqlalchemy as sa
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.engine.make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database on 127.0.0.1 for one test, dropped after it."""
    url = new_pg_database()
    yield url
    drop_pg_database(url)


def make_site(tmp_path: Path, store_url: str | None = None) -> Site:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cfg = tmp_path / "feedpub.toml"
    cfg.write_text(textwrap.dedent("""
        [site]
        title = "物流資訊網"
        link = "https://news.example.com/"
        feeds_url = "https://news.example.com/feeds/"
        language = "zh-CN"
        timezone = "Asia/Shanghai"

        [output]
        dir = "feeds"
        max_items = 50

        [store]
        url = "STORE_URL"

        [[sources]]
        name = "inbox"
        type = "folder"
        path = "inbox"
    """).replace("STORE_URL", store_url or "sqlite:///state/feedpub.db"), encoding="utf-8")
    return Site(tmp_path, inbox, tmp_path / "feeds", cfg)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_site(request, tmp_path: Path) -> Site:
    """The same site over each store engine."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    return make_site(tmp_path, url)
