"""A store made by an earlier feedpub upgrades in place, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

import feedparser
import sqlalchemy as sa
from alembic import command

from feedpub.store.opening import alembic_config
from feedpub.store.schema import HEAD_REVISION
from conftest import configure, dump


def old_store(url: str) -> None:
    """The schema of the first release (revision 0001), with an article in it."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
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
    assert f"from schema revision 0001 to {HEAD_REVISION}" in r.stdout
    assert "up to date" in feedpub(site, "migrate").stdout

    r = feedpub(site, "build")
    assert r.returncode == 0, r.stderr
    entries = {e.title: e.id for e in feedparser.parse((site.out / "atom.xml").read_bytes()).entries}
    assert entries["舊的條目"] == "tag:news.example.com,2019-01-01:old"      # the old id survived
    assert "舊的文章" in entries


def test_the_head_revision_the_store_checks_is_alembics():
    from alembic.script import ScriptDirectory

    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        assert ScriptDirectory.from_config(alembic_config(conn)).get_current_head() == HEAD_REVISION


def test_archive_places_of_an_older_store_are_its_pages_on_disk(any_site):
    """0004 numbers the archive places of existing items in pk order, the order
    the pages already on disk were cut in: after `feedpub migrate` a build
    rewrites nothing, and the next pages close where they should."""
    site = any_site
    configure(site, max_items=5, archive_page_size=5)
    for i in range(17):
        site.write(f"a{i:03d}.txt", dump("首頁 > 物流資訊 > 行業新聞" if i % 3 else "首頁 > 物流資訊 > 港口航運",
                                         f"文章{i:03d}", f"2020/6/{i % 9 + 1} 08:{i:02d}:00", "來處"))
    assert feedpub(site, "build").returncode == 0
    files = {p: p.read_bytes() for p in site.out.rglob("*") if p.is_file() and p.suffix == ".xml"}
    assert any("archive" in p.parts for p in files)
    url = site.settings().store.url
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")      # the store as feedpub 0003 left it
    engine.dispose()
    assert feedpub(site, "build").returncode == 2
    r = feedpub(site, "migrate")
    assert r.returncode == 0 and f"from schema revision 0003 to {HEAD_REVISION}" in r.stdout, r.stderr
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        links = conn.execute(sa.text("SELECT category_pk, article_pk, place FROM article_categories "
                                     "ORDER BY category_pk, article_pk")).all()
        places = dict(conn.execute(sa.text("SELECT pk, places FROM categories")).all())
        assert [p for (p,) in conn.execute(sa.text("SELECT place FROM articles ORDER BY pk"))] == list(range(17))
    engine.dispose()
    by_category: dict = {}
    for cpk, _, place in links:
        by_category.setdefault(cpk, []).append(place)
    assert all(v == list(range(len(v))) and places[cpk] == len(v) for cpk, v in by_category.items())

    r = feedpub(site, "build")
    assert r.returncode == 0, r.stderr
    assert {p: p.read_bytes() for p in files} == files
    for i in range(17, 30):
        site.write(f"a{i:03d}.txt", dump("首頁 > 物流資訊 > 行業新聞", f"文章{i:03d}", f"2020/7/{i % 9 + 1} 08:00:00", "來處"))
    assert feedpub(site, "build").returncode == 0
    assert {p: p.read_bytes() for p in files if "archive" in p.parts} == {p: d for p, d in files.items()
                                                                          if "archive" in p.parts}
    seen, path = [], site.out / "rss.xml"
    while path:
        parsed = feedparser.parse(path.read_bytes())
        seen.append([e.id for e in parsed.entries])
        prev = [link.href for link in parsed.feed.get("links", []) if link.rel == "prev-archive"]
        path = site.out / prev[0].split("/feeds/", 1)[1] if prev else None
    archived = [i for page in seen[1:] for i in page]
    assert len(archived) == len(set(archived)) == 30 and len(seen) == 7    # 6 full pages, every item once


def test_a_store_whose_creation_dies_midway_is_left_empty(any_site):
    """A publisher killed while it creates its store must not leave half a
    schema (the next start would call it an old store and refuse)."""
    url = any_site.settings().store.url
    if url.startswith("sqlite:///"):
        from pathlib import Path
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    # Killed at the first index, when tables already exist: whether the
    # schema is made by Alembic or at once, the statements are the same kind.
    probe = ("import sqlalchemy as sa\n"
             "from feedpub.store import Store\n"
             "def killed(conn, cursor, statement, *a):\n"
             "    if statement.lstrip().upper().startswith('CREATE INDEX'):\n"
             "        raise SystemExit('killed mid-migration')\n"
             "sa.event.listen(sa.engine.Engine, 'before_cursor_execute', killed)\n"
             f"Store({url!r}, id_authority='x')\n")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert "killed mid-migration" in r.stderr
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []
    engine.dispose()
    any_site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "建好了", "2020/6/1 10:00:00", "來處"))
    assert feedpub(any_site, "build").returncode == 0


def schema(url: str) -> dict:
    """Every table's columns, keys, indexes and constraints, as the database reports them."""
    engine = sa.create_engine(url)
    out = {}
    with engine.connect() as conn:
        insp = sa.inspect(conn)
        for table in sorted(insp.get_table_names()):
            out[table] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in insp.get_columns(table)],
                "pk": insp.get_pk_constraint(table)["constrained_columns"],
                "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                              for f in insp.get_foreign_keys(table)),
                "indexes": sorted((tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table)),
                "uniques": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
            }
        out["version"] = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    return out


def test_a_new_store_is_made_as_every_migration_would_make_it(any_site, tmp_path):
    """A new store is created from the tables at once (no Alembic); it must be
    the store that replaying every migration gives."""
    import uuid

    from conftest import PG_ADMIN
    from feedpub.store import Store
    created = any_site.settings().store.url
    Store(created, id_authority="news.example.com").close()
    admin = None
    if created.startswith("sqlite"):
        replayed = f"sqlite:///{tmp_path / 'replayed.db'}"
    else:                                                # a second fresh database beside the test's
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = "feedpub_test_" + uuid.uuid4().hex[:12]
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        replayed = sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    try:
        engine = sa.create_engine(replayed)
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        engine.dispose()
        made, migrated = schema(created), schema(replayed)
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    assert made["version"] == migrated["version"] == HEAD_REVISION
    assert made == migrated


def test_what_sources_remembered_moves_into_one_table_and_back(any_site):
    """0006 moves the three shapes of source memory (files seen, HTTP
    validators, an SQL mark) into source_memory: after `feedpub migrate` a
    build still skips the files it had read, and a downgrade gives them back."""
    site = any_site
    for i in range(2):
        site.write(f"a{i}.txt", dump("首頁 > 物流資訊 > 行業新聞", f"文章{i}", f"2020/6/{i + 1} 08:00:00", "來處"))
    assert feedpub(site, "build").returncode == 0
    url = site.settings().store.url
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0005")
        files = conn.execute(sa.text("SELECT source, location, size, mtime_ns FROM seen ORDER BY location")).all()
        assert [(s, loc) for s, loc, *_ in files] == [("inbox", "a0.txt"), ("inbox", "a1.txt")]
        stat = (site.inbox / "a0.txt").stat()
        assert tuple(files[0][2:]) == (stat.st_size, stat.st_mtime_ns)
        conn.execute(sa.text("INSERT INTO http_cache (source, url, etag, last_modified, listing_date) VALUES "
                             "('portal', 'https://a.example/list', '\"v1\"', NULL, NULL), "
                             "('portal', 'https://a.example/1.html', NULL, NULL, '2020-07-01 09:12')"))
        conn.execute(sa.text("INSERT INTO meta (name, value) VALUES ('sql_since:db', '{\"int\": 42}')"))
    engine.dispose()

    r = feedpub(site, "migrate")
    assert r.returncode == 0 and f"from schema revision 0005 to {HEAD_REVISION}" in r.stdout, r.stderr
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        memory = {(s, k): v for s, k, v in conn.execute(sa.text("SELECT source, key, value FROM source_memory"))}
        tables = set(sa.inspect(conn).get_table_names())
        marks = conn.execute(sa.text("SELECT count(*) FROM meta WHERE name LIKE 'sql_since:%'")).scalar()
    engine.dispose()
    assert memory == {
        ("inbox", "a0.txt"): f"{files[0][2]} {files[0][3]}", ("inbox", "a1.txt"): f"{files[1][2]} {files[1][3]}",
        ("portal", "https://a.example/list"): '{"etag": "\\"v1\\"", "listing_date": null}',
        ("portal", "https://a.example/1.html"): '{"listing_date": "2020-07-01 09:12"}',
        ("db", "since"): '{"int": 42}'}
    assert not {"seen", "http_cache"} & tables and marks == 0

    site.write("a2.txt", dump("首頁 > 物流資訊 > 行業新聞", "文章2", "2020/6/3 08:00:00", "來處"))
    r = feedpub(site, "build")
    assert r.returncode == 0, r.stderr
    assert "1 new" in r.stdout and "2 unchanged file(s) skipped" in r.stdout, r.stdout

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0005")
        assert conn.execute(sa.text("SELECT count(*) FROM seen")).scalar() == 3
        assert conn.execute(sa.text("SELECT etag, listing_date FROM http_cache ORDER BY url")).all() == [
            (None, "2020-07-01 09:12"), ('"v1"', None)]
        assert conn.execute(sa.text("SELECT value FROM meta WHERE name = 'sql_since:db'")).scalar() == '{"int": 42}'
    engine.dispose()
