"""A store made by an earlier feedpub upgrades in place, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

import feedparser
import sqlalchemy as sa
from alembic import command

from feedpub.store import _alembic_config
from conftest import dump


def old_store(url: str) -> None:
    """The schema of the first release (revision 0001), with an article in it."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
    engine.dispose()


def feedpub(site, *args):
    return subprocess.run([sys.executable, "-m", "feedpub", *args, "--config", str(site.config_path)],
                          capture_output=True, text=True, timeout=120)


def test_an_old_store_is_refused_until_migrated_then_keeps_its_ids(any_site):
    site = any_site
    url = site.settings().store.url
    # feedpub 0.1.0's first schema had no tables for the scheduler: make one with an item in it
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "舊的文章", None, "來處"))
    if url.startswith("sqlite:///"):
        from pathlib import Path
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    old_store(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO articles (pk, id, key, source, url, page_path, title, summary, body_html, published, dated, "
            "updated, first_seen, content_hash) VALUES (1, 'tag:news.example.com,2019-01-01:old', 'id:old', 'inbox', "
            "NULL, 'articles/2019/01/old.html', '舊的條目', '', '<p>x</p>', '2019-01-01 00:00:00', true, "
            "'2019-01-01 00:00:00', '2019-01-01 00:00:00', 'h')"))
    engine.dispose()

    r = feedpub(site, "build")
    assert r.returncode == 2
    assert "schema revision 0001" in r.stderr and "feedpub migrate" in r.stderr

    r = feedpub(site, "migrate")
    assert r.returncode == 0, r.stderr
    assert "from schema revision 0001 to 0003" in r.stdout
    assert "up to date" in feedpub(site, "migrate").stdout

    r = feedpub(site, "build")
    assert r.returncode == 0, r.stderr
    entries = {e.title: e.id for e in feedparser.parse((site.out / "atom.xml").read_bytes()).entries}
    assert entries["舊的條目"] == "tag:news.example.com,2019-01-01:old"      # the old id survived
    assert "舊的文章" in entries


def test_the_head_revision_the_store_checks_is_alembics():
    from alembic.script import ScriptDirectory

    from feedpub.store import HEAD_REVISION

    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        assert ScriptDirectory.from_config(_alembic_config(conn)).get_current_head() == HEAD_REVISION
