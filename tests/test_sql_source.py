"""The `sql` source against real MariaDB and PostgreSQL servers on 127.0.0.1."""

from __future__ import annotations

import calendar
import textwrap
import uuid
from datetime import datetime, timezone

import feedparser
import pytest
import sqlalchemy as sa

from feedpub import config
from feedpub.build import build

MARIADB_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/"


@pytest.fixture
def mariadb_url():
    admin = sa.create_engine(MARIADB_ADMIN, isolation_level="AUTOCOMMIT")
    name = "feedpub_cms_" + uuid.uuid4().hex[:10]
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"MariaDB is not reachable at {MARIADB_ADMIN} ({exc.orig})")
    yield f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    admin.dispose()


@pytest.fixture(params=["mariadb", "postgresql"])
def cms_url(request):
    return request.getfixturevalue("mariadb_url" if request.param == "mariadb" else "pg_url")


def make_cms(url, rows):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE articles (id INTEGER PRIMARY KEY, title VARCHAR(200), body TEXT, "
                             "category VARCHAR(100), pubdate TIMESTAMP NULL, epoch INTEGER)"))
        insert(conn, rows)
    return engine


def insert(conn, rows):
    for r in rows:
        conn.execute(sa.text("INSERT INTO articles VALUES (:id, :title, :body, :category, :pubdate, :epoch)"), r)


def configure(tmp_path, url):
    cfg = tmp_path / "feedpub.toml"
    cfg.write_text(textwrap.dedent(f"""
        [site]
        title = "CMS"
        link = "https://news.example.com/"
        feeds_url = "https://news.example.com/feeds/"
        timezone = "Asia/Shanghai"
        [output]
        dir = "feeds"
        [store]
        url = "sqlite:///state.db"
        [[sources]]
        name = "cms"
        type = "sql"
        url = "{url}"
        query = "SELECT id, title, body, category, pubdate FROM articles WHERE pubdate > :since ORDER BY pubdate"
        fields = {{ id = "id", title = "title", body = "body", category = "category", published = "pubdate" }}
        timeout = "10s"
        every = "2m"
    """), encoding="utf-8")
    return config.load(cfg)


def published(tmp_path):
    parsed = feedparser.parse((tmp_path / "feeds" / "atom.xml").read_bytes())
    return {e.title: datetime.fromtimestamp(calendar.timegm(e.published_parsed), timezone.utc)
            for e in parsed.entries}


def test_rows_become_items_incrementally(tmp_path, cms_url):
    engine = make_cms(cms_url, [
        {"id": 1, "title": "港口新聞", "body": "<p>正文<script>x()</script></p>", "category": "物流資訊/港口航運",
         "pubdate": datetime(2020, 6, 1, 22, 46, 13), "epoch": None},
        {"id": 2, "title": "政策新聞", "body": "純文字正文", "category": "政策法規",
         "pubdate": datetime(2020, 6, 2, 8, 0, 0), "epoch": None},
    ])
    settings = configure(tmp_path, cms_url)
    s = build(settings)
    assert s.articles["new"] == 2 and s.errors == 0
    got = published(tmp_path)
    # a naive DATETIME is in the source's zone (Asia/Shanghai)
    assert got == {"港口新聞": datetime(2020, 6, 1, 14, 46, 13, tzinfo=timezone.utc),
                   "政策新聞": datetime(2020, 6, 2, 0, 0, tzinfo=timezone.utc)}
    assert (tmp_path / "feeds" / "wu-liu-zi-xun" / "gang-kou-hang-yun" / "rss.xml").exists()
    assert b"<script" not in (tmp_path / "feeds" / "atom.xml").read_bytes().replace(b"&lt;", b"<")
    # the next gather asks only for what is newer than the newest seen
    s = build(settings)
    assert s.files_read == 0 and s.written == 0
    with engine.begin() as conn:
        insert(conn, [{"id": 3, "title": "新的一篇", "body": "x", "category": "政策法規",
                       "pubdate": datetime(2020, 6, 3, 9, 0, 0), "epoch": None}])
    s = build(settings)
    assert s.files_read == 1 and s.articles == {"new": 1}
    assert set(published(tmp_path)) == {"港口新聞", "政策新聞", "新的一篇"}
    engine.dispose()


def test_integers_are_epoch_seconds_and_bad_columns_are_reported(tmp_path, mariadb_url):
    engine = make_cms(mariadb_url, [{"id": 1, "title": "紀元時間", "body": "x", "category": "甲",
                                     "pubdate": None, "epoch": 1591022773}])
    settings = configure(tmp_path, mariadb_url)
    text = settings.path.read_text()
    settings.path.write_text(text.replace("FROM articles WHERE pubdate > :since ORDER BY pubdate",
                                          "FROM articles").replace("pubdate FROM", "epoch FROM")
                             .replace('published = "pubdate"', 'published = "epoch"'))
    build(config.load(settings.path))
    assert published(tmp_path) == {"紀元時間": datetime(2020, 6, 1, 14, 46, 13, tzinfo=timezone.utc)}
    settings.path.write_text(settings.path.read_text().replace('title = "title"', 'title = "headline"'))
    s = build(config.load(settings.path))
    assert s.failed_sources == ["cms"]
    assert "no column for title = 'headline'" in s.problems[0].reason
    engine.dispose()


def test_the_connection_is_read_only(tmp_path, mariadb_url):
    engine = make_cms(mariadb_url, [])
    settings = configure(tmp_path, mariadb_url)
    settings.path.write_text(settings.path.read_text().replace(
        'query = "SELECT id, title, body, category, pubdate FROM articles WHERE pubdate > :since ORDER BY pubdate"',
        'query = "INSERT INTO articles (id, title) VALUES (99, \'hack\')"'))
    s = build(config.load(settings.path))
    assert s.failed_sources == ["cms"] and "READ ONLY" in s.problems[0].reason.upper()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM articles")).scalar() == 0
    engine.dispose()
