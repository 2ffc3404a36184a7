"""Article -> rows, and rows -> what render needs. SQLAlchemy, SQLite by default.

Identity is decided here, once: an article is found by its content key (or by
the place it came from, for an edited file), and its item id is minted on first
insert and never recomputed. Categories are stored as a closure (an article is
linked to its category and every ancestor) so "newest N under C" is one
indexed query.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .config import sqlite_file
from .identity import Stored, free_slug, merge_times, mint
from .identity import slug as slug_of
from .model import PENDING_META, TOPIC, Article, CategoryRow, Item, Problem



class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC in, aware UTC out, whatever the engine keeps."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


metadata = sa.MetaData()

articles = sa.Table(
    "articles", metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("id", sa.String(500), nullable=False, unique=True),
    sa.Column("key", sa.String(600), nullable=False, unique=True),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("url", sa.Text),
    sa.Column("page_path", sa.String(300)),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("body_html", sa.Text, nullable=False),
    sa.Column("author", sa.Text),
    sa.Column("source_name", sa.Text),
    sa.Column("published", UTCDateTime, nullable=False),
    sa.Column("dated", sa.Boolean, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("date_raw", sa.Text),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("place", sa.BigInteger),              # in the all-feed's archive: set when first published
    sa.Index("ix_articles_published", "published", "id"),
    sa.Index("ix_articles_place", "place"),                # NULLs too: "not placed yet" is a search
)

categories = sa.Table(
    "categories", metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(600), nullable=False, unique=True),     # folded "a/b"
    sa.Column("parent_pk", sa.Integer, sa.ForeignKey("categories.pk")),
    sa.Column("depth", sa.Integer, nullable=False),
    sa.Column("slug", sa.String(100), nullable=False),                 # this level only
    sa.Column("name", sa.Text, nullable=False),                        # first spelling seen
    sa.Column("places", sa.BigInteger, nullable=False, server_default="0"),   # archive places handed out
    sa.UniqueConstraint("parent_pk", "slug", name="uq_categories_sibling_slug"),
)

article_categories = sa.Table(
    "article_categories", metadata,
    sa.Column("article_pk", sa.Integer, sa.ForeignKey("articles.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("category_pk", sa.Integer, sa.ForeignKey("categories.pk"), primary_key=True),
    sa.Column("direct", sa.Boolean, nullable=False),
    sa.Column("spelling", sa.Text, nullable=False),                    # this level as the article wrote it
    sa.Column("published", UTCDateTime, nullable=False),               # copied: one index serves "newest N of C"
    sa.Column("place", sa.BigInteger),              # in the category's archive: set when first published
    sa.Index("ix_article_categories_newest", "category_pk", "published"),
    sa.Index("ix_article_categories_place", "category_pk", "place"),
    sa.Index("ix_article_categories_direct", "category_pk", "direct"),
)

# Kept with the links (+1 when one is written, -1 when one goes): how many
# items each category has and which spelling of its name is most used are
# then a read of a few rows, whatever the size of the archive.
category_spellings = sa.Table(
    "category_spellings", metadata,
    sa.Column("category_pk", sa.Integer, sa.ForeignKey("categories.pk"), primary_key=True),
    sa.Column("spelling", sa.String(500), primary_key=True),
    sa.Column("links", sa.Integer, nullable=False),
)

origins = sa.Table(
    "origins", metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("location", sa.String(1000), primary_key=True),
    sa.Column("article_pk", sa.Integer, sa.ForeignKey("articles.pk", ondelete="CASCADE"), nullable=False),
)

seen = sa.Table(
    "seen", metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("location", sa.String(1000), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
)

http_cache = sa.Table(
    "http_cache", metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("url", sa.String(2000), primary_key=True),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("listing_date", sa.Text),
)

problems = sa.Table(
    "problems", metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("location", sa.String(1000), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Index("ix_problems_where", "source", "location"),
)

source_status = sa.Table(
    "source_status", metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("last_run", UTCDateTime),          # when the last gather ended
    sa.Column("last_success", UTCDateTime),
    sa.Column("last_duration", sa.Float),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_at", UTCDateTime),
    sa.Column("failures", sa.Integer, nullable=False, default=0, server_default="0"),   # in a row, for backoff
    sa.Column("next_run", UTCDateTime),
    sa.Column("runs", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("last_new", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("last_updated", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("last_problems", sa.Integer, nullable=False, default=0, server_default="0"),
)

processes = sa.Table(
    "processes", metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("pid", sa.Integer, primary_key=True),
    sa.Column("started", UTCDateTime, nullable=False),
    sa.Column("heartbeat", UTCDateTime, nullable=False),
)

gathers = sa.Table(
    "gathers", metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started", UTCDateTime, nullable=False),
    sa.Column("ended", UTCDateTime),
    sa.Index("ix_gathers_source", "source", "started"),
)

meta = sa.Table(
    "meta", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


@dataclass(frozen=True)
class Saved:
    outcome: str                   # "new", "updated" or "unchanged"
    category_keys: frozenset[str]  # categories whose feeds must change
    article_pk: int


class StoreError(Exception):
    """The store cannot be opened or is of another version."""


class StoreBehind(StoreError):
    """The store's schema is older than this feedpub's: `feedpub migrate`."""


class StoreConfigError(StoreError):
    """`[store] url` names a database feedpub cannot talk to (no such dialect, no driver)."""


MIGRATIONS = Path(__file__).resolve().parent / "migrations"
PENDING = PENDING_META
REGENERATIONS = "regenerations"  # meta: the last regeneration that wrote files, and totals (JSON)
_SCHEMA_LOCK = 0x66656564707562  # "feedpub"


def _alembic_config(conn):
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


# The newest migration; tests/test_migrations.py checks it against Alembic's head.
HEAD_REVISION = "0005"


def _at_head(conn) -> bool:
    """Is the store at HEAD_REVISION? Asked with one query, without Alembic."""
    if "alembic_version" not in sa.inspect(conn).get_table_names():
        return False
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION


def schema_revision(conn) -> tuple[str | None, str]:
    """(the store's revision, or None for an empty store; the newest revision)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    head = ScriptDirectory.from_config(_alembic_config(conn)).get_current_head()
    current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        tables = set(sa.inspect(conn).get_table_names())
        if "articles" in tables:
            # A store from before migrations existed: say which schema it has.
            from alembic import command
            current = "0002" if "gathers" in tables else "0001"
            command.stamp(_alembic_config(conn), current)
    return current, head


def _create(conn) -> None:
    """A new store: the newest schema made at once from the tables above and
    stamped with the newest revision, as replaying every migration would
    leave it (tests/test_migrations.py compares the two), without loading
    Alembic (a tenth of a second of every first build)."""
    metadata.create_all(conn)
    version = sa.Table("alembic_version", sa.MetaData(),
                       sa.Column("version_num", sa.String(32), nullable=False),
                       sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))
    version.create(conn)
    conn.execute(version.insert().values(version_num=HEAD_REVISION))


def _upgrade(conn) -> None:
    from alembic import command
    command.upgrade(_alembic_config(conn), "head")


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


class Store:
    def __init__(self, url: str, *, id_authority: str, migrate: bool = False):
        self.url = url
        self.id_authority = id_authority
        if (database := sqlite_file(url)) is not None:
            folder = database.parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the store's folder {folder}: {exc.strerror or exc}") from None
        try:
            self.engine: Engine = sa.create_engine(url)
        except sa.exc.NoSuchModuleError:
            raise StoreConfigError(
                f"store.url: {_safe_url(url)}: SQLAlchemy has no such database dialect (feedpub is tested with "
                f"sqlite:///…, postgresql+psycopg://… and mysql+pymysql://…)") from None
        except ImportError as exc:
            raise StoreConfigError(
                f"store.url: {_safe_url(url)}: its database driver is not installed ({exc}); for PostgreSQL "
                f"use postgresql+psycopg:// with `pip install -e '.[postgresql]'`") from None
        except sa.exc.ArgumentError as exc:
            raise StoreConfigError(f"store.url: {_safe_url(url)}: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            with self.engine.connect() as conn:
                if _at_head(conn):
                    return                               # the common case: no need to load Alembic
            self._migrate(migrate)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot open store {_safe_url(url)}: {exc.__class__.__name__}: "
                             f"{getattr(exc, 'orig', None) or exc}") from None

    def _migrate(self, migrate: bool) -> None:
        """Create the schema of a new store, or upgrade an old one when asked:
        all of it or none of it (a publisher killed while creating its store
        must not leave half a schema behind). SQLite's Python driver runs DDL
        outside transactions unless told otherwise: here it is told."""
        url = self.url
        engine = self.engine
        if engine.dialect.name == "sqlite":
            engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        try:
            with engine.connect() as conn:
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")        # DDL included, one writer
                else:
                    conn = conn.execution_options(isolation_level="READ COMMITTED")
                    conn.begin()
                    # publishers starting together: one creates or checks the schema at a time
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK})
                try:
                    self._upgrade_if_needed(conn, migrate)
                except BaseException:
                    if conn.invalidated:
                        raise                    # its connection is gone, and the transaction with it
                    if conn.dialect.name == "sqlite":
                        conn.exec_driver_sql("ROLLBACK")
                    else:
                        conn.rollback()
                    raise
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("COMMIT")
                else:
                    conn.commit()
        finally:
            if engine is not self.engine:
                engine.dispose()

    def _upgrade_if_needed(self, conn, migrate: bool) -> None:
        if _at_head(conn):
            return                                       # another publisher made it meanwhile
        if not sa.inspect(conn).get_table_names():
            _create(conn)                                # a new store starts at the newest schema
            return
        current, head = schema_revision(conn)
        if current is None:
            _upgrade(conn)
        elif current != head and not migrate:
            raise StoreBehind(
                f"the store {_safe_url(self.url)} is at schema revision {current}, this feedpub needs {head}: "
                f"run `feedpub migrate` (back the store up first)")
        elif current != head:
            _upgrade(conn)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def safe_url(self) -> str:
        return _safe_url(self.url)

    @property
    def shareable(self) -> bool:
        """Can another process open this same store (not an in-memory one)?"""
        return self.engine.url.database not in (None, "", ":memory:") or self.engine.dialect.name != "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self.engine.begin() as conn:
            yield Transaction(conn, self.id_authority)

    # -- reading, for render and status ---------------------------------
    def categories(self) -> list[CategoryRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(categories).order_by(categories.c.depth, categories.c.key))
            return [CategoryRow(r.pk, r.key, r.parent_pk, r.depth, r.slug, r.name) for r in rows]

    def spellings(self) -> dict[int, list[tuple[str, int]]]:
        """Per category, how often each spelling of its name occurs."""
        c = category_spellings.c
        out: dict[int, list[tuple[str, int]]] = {}
        with self.engine.connect() as conn:
            for pk, spelling, n in conn.execute(sa.select(c.category_pk, c.spelling, c.links).where(c.links > 0)
                                                .order_by(c.category_pk, c.spelling)):
                out.setdefault(pk, []).append((spelling, n))
        return out

    def counts(self) -> dict[int, int]:
        c = category_spellings.c
        q = sa.select(c.category_pk, sa.func.sum(c.links)).group_by(c.category_pk).having(sa.func.sum(c.links) > 0)
        with self.engine.connect() as conn:
            return {pk: int(n) for pk, n in conn.execute(q)}

    def newest_times(self) -> dict[int, datetime]:
        """Per category, the newest item's time (for the index): one indexed
        MAX per category, not a GROUP BY over every link."""
        ac = article_categories.c
        newest = (sa.select(sa.func.max(ac.published)).where(ac.category_pk == categories.c.pk)
                  .scalar_subquery())
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(categories.c.pk, sa.type_coerce(newest, UTCDateTime)))
            return {pk: v if v.tzinfo else v.replace(tzinfo=timezone.utc) for pk, v in rows if v is not None}

    def with_own_articles(self) -> set[int]:
        """The categories that have articles filed in them directly (not only
        through a subcategory): one index search per category."""
        ac, c = article_categories.c, categories.c
        q = sa.select(c.pk).where(sa.exists().where(ac.category_pk == c.pk, ac.direct))
        with self.engine.connect() as conn:
            return set(conn.execute(q).scalars())

    def article_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(articles)).scalar_one()

    def newest(self, category_pk: int | None, limit: int) -> list[tuple[Item, list[int]]]:
        """The newest `limit` items under a category (None: all), newest first,
        each with the pks of the categories it was filed in directly."""
        a = articles.c
        q = sa.select(articles)
        if category_pk is not None:
            ac = article_categories.c
            q = (sa.select(articles).join(article_categories, ac.article_pk == a.pk)
                 .where(ac.category_pk == category_pk).order_by(ac.published.desc(), a.id.desc()))
        else:
            q = q.order_by(a.published.desc(), a.id.desc())
        with self.engine.connect() as conn:
            rows = conn.execute(q.limit(limit)).all()
            pks = [r.pk for r in rows]
            direct: dict[int, list[int]] = {pk: [] for pk in pks}
            if pks:
                links = conn.execute(
                    sa.select(article_categories.c.article_pk, article_categories.c.category_pk)
                    .where(article_categories.c.article_pk.in_(pks), article_categories.c.direct)
                    .order_by(article_categories.c.category_pk))
                for apk, cpk in links:
                    direct[apk].append(cpk)
        return [(_item(r), direct[r.pk]) for r in rows]

    def place_items(self) -> None:
        """Give every item that no regeneration has published yet its place
        in the archives of the all-feed and of each of its categories: after
        the last place handed out there, in pk order.

        Archive page n of a feed is the items at places [(n-1)*size, n*size),
        so a place must never move: it is numbered once, here, under the
        regeneration lock, from counters that never go back. An item filed
        into another category by an edit gets a new place at the end there
        (and leaves a gap where it was), and an article that another
        publisher commits late still lands after every page already written.
        """
        a, ac, c = articles.c, article_categories.c, categories.c
        with self.engine.begin() as conn:
            if conn.execute(sa.select(a.pk).where(a.place.is_(None)).limit(1)).first() is not None:
                base = _next_place(conn)
                new = (sa.select(a.pk.label("p"), sa.func.row_number().over(order_by=a.pk).label("n"))
                       .where(a.place.is_(None)).subquery())
                conn.execute(articles.update().values(place=base + new.c.n - 1).where(a.pk == new.c.p))
            # One index search per category (not a scan of every link) finds those with new items.
            touched = conn.execute(sa.select(c.pk).where(sa.exists().where(
                ac.category_pk == c.pk, ac.place.is_(None)))).scalars().all()
            if touched:
                new = (sa.select(ac.article_pk.label("a"), ac.category_pk.label("c"), c.places.label("base"),
                                 sa.func.row_number().over(partition_by=ac.category_pk, order_by=ac.article_pk)
                                 .label("n"))
                       .join_from(article_categories, categories, c.pk == ac.category_pk)
                       .where(ac.category_pk.in_(touched), ac.place.is_(None)).subquery())
                conn.execute(article_categories.update().values(place=new.c.base + new.c.n - 1)
                             .where(ac.article_pk == new.c.a, ac.category_pk == new.c.c))
                last = sa.select(sa.func.max(ac.place) + 1).where(ac.category_pk == c.pk).scalar_subquery()
                conn.execute(categories.update().where(c.pk.in_(touched)).values(places=last))

    def places(self) -> dict[int | None, int]:
        """Archive places handed out per category (None: the all-feed): page n
        is closed once n * size of them are."""
        with self.engine.connect() as conn:
            out: dict[int | None, int] = dict(conn.execute(sa.select(categories.c.pk, categories.c.places)).all())
            out[None] = _next_place(conn)
        return out

    def _placed(self, category_pk: int | None):
        if category_pk is None:
            return sa.select(articles.c.place, articles.c.pk), articles.c.place
        ac = article_categories.c
        return sa.select(ac.place, ac.article_pk).where(ac.category_pk == category_pk), ac.place

    def archive_places(self, category_pk: int | None) -> list[tuple[int, int]]:
        """(place, pk) of every placed item under a category (None: all), by
        place: archive page n holds those at places [(n-1)*size, n*size)."""
        q, place = self._placed(category_pk)
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(q.where(place.is_not(None)).order_by(place))]

    def items(self, pks: list[int]) -> dict[int, tuple[Item, list[int]]]:
        """Items by pk, each with the pks of the categories it was filed in directly."""
        return {pk: (item, cats) for pk, item, cats in self._rows_by_pk(sorted(pks))}

    def not_archived(self, category_pk: int | None, archived: int) -> list[tuple[Item, list[int]]]:
        """The items at places from `archived` on (not on a closed page yet),
        and any not placed yet. Read through the place index: the cost is
        those items only."""
        q, place = self._placed(category_pk)
        with self.engine.connect() as conn:     # two index searches: an OR would scan the category
            pks = [pk for _, pk in conn.execute(sa.union_all(q.where(place >= archived), q.where(place.is_(None))))]
        return newest_first(self._items_by_pk(sorted(pks)))

    def page_pks(self) -> list[int]:
        """The pks of every item that needs an article page of our own."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(articles.c.pk).where(articles.c.page_path.is_not(None))
                                .order_by(articles.c.pk)).scalars().all()

    def pages(self, pks) -> Iterator[tuple[Item, list[int]]]:
        """The items among `pks` that need an article page of our own, read
        500 at a time: a full render never holds every item."""
        pks = sorted(pks)
        for start in range(0, len(pks), 500):
            yield from self._items_by_pk(pks[start:start + 500], pages_only=True)

    def _items_by_pk(self, pks, pages_only: bool = False) -> list[tuple[Item, list[int]]]:
        return [(item, cats) for _, item, cats in self._rows_by_pk(pks, pages_only)]

    def _rows_by_pk(self, pks, pages_only: bool = False) -> list[tuple[int, Item, list[int]]]:
        out = []
        with self.engine.connect() as conn:
            for chunk in (pks[i:i + 500] for i in range(0, len(pks), 500)):
                q = sa.select(articles).where(articles.c.pk.in_(chunk))
                if pages_only:
                    q = q.where(articles.c.page_path.is_not(None))
                rows = conn.execute(q.order_by(articles.c.pk)).all()
                links = conn.execute(
                    sa.select(article_categories.c.article_pk, article_categories.c.category_pk)
                    .where(article_categories.c.article_pk.in_(chunk), article_categories.c.direct)
                    .order_by(article_categories.c.category_pk)).all()
                direct: dict[int, list[int]] = {}
                for apk, cpk in links:
                    direct.setdefault(apk, []).append(cpk)
                out.extend((r.pk, _item(r), direct.get(r.pk, [])) for r in rows)
        return out

    def get_meta(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(meta.c.value).where(meta.c.name == name)).scalar()

    def set_meta(self, name: str, value: str) -> None:
        with self.transaction() as tx:
            tx.set_meta(name, value)

    # -- filtered feeds ------------------------------------------------------------
    def topic_inputs(self, after: int, limit: int = 500) -> list[tuple[int, str, str, list[str]]]:
        """(pk, title, body HTML, keys of the categories it is filed in) of the
        articles after pk `after`: what decides which filtered feeds hold them."""
        a, ac, c = articles.c, article_categories.c, categories.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(a.pk, a.title, a.body_html).where(a.pk > after)
                                .order_by(a.pk).limit(limit)).all()
            keys: dict[int, list[str]] = {r.pk: [] for r in rows}
            if rows:
                for apk, key in conn.execute(sa.select(ac.article_pk, c.key).join(categories, c.pk == ac.category_pk)
                                             .where(ac.article_pk.in_(list(keys)), ac.direct)):
                    keys[apk].append(key)
        return [(r.pk, r.title, r.body_html, keys[r.pk]) for r in rows]

    # -- regenerations, for monitoring ------------------------------------------
    def note_regeneration(self, when: datetime, written: int, duration: float) -> None:
        """The last regeneration that wrote files, and the running totals."""
        import json
        last = self.regenerations()
        self.set_meta(REGENERATIONS, json.dumps({
            "at": when.timestamp(), "written": written, "duration": round(duration, 3),
            "count": last.get("count", 0) + 1, "files": last.get("files", 0) + written}))

    def regenerations(self) -> dict:
        import json
        try:
            return json.loads(self.get_meta(REGENERATIONS) or "{}")
        except ValueError:
            return {}

    # -- what is stored but not yet published --------------------------------
    def pending(self) -> set[str]:
        """The tokens of the gathers that stored changes no regeneration has
        published yet (a crash or a failed publish leaves its token here)."""
        return set((self.get_meta(PENDING) or "").split())

    def published(self, tokens: set[str]) -> None:
        """A regeneration published what these gathers stored: forget them,
        and only them (a gather may have added its token meanwhile)."""
        if not tokens:
            return
        with self.engine.begin() as conn:
            for token in sorted(tokens):
                conn.execute(meta.update().where(meta.c.name == PENDING)     # as feedpub < 0.2 wrote it: alone
                             .values(value=sa.func.trim(sa.func.replace(" " + meta.c.value, " " + token, ""))))

    # -- scheduler state ---------------------------------------------------
    def record_run(self, source: str, *, ended: datetime, duration: float, new: int = 0, updated: int = 0,
                   problems: int = 0, error: str | None = None, next_run: datetime | None = None) -> int:
        """Remember how a gather went; returns the failures in a row (0 on success)."""
        c = source_status.c
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(source_status).where(c.source == source)).first()
            values = dict(last_run=ended, last_duration=duration, next_run=next_run,
                          runs=(row.runs if row else 0) + 1)
            if error is None:
                values.update(last_success=ended, failures=0, last_new=new, last_updated=updated,
                              last_problems=problems)
            else:
                values.update(last_error=error, last_error_at=ended, failures=(row.failures if row else 0) + 1)
            if row is None:
                conn.execute(source_status.insert().values(source=source, **{
                    "failures": 0, "last_new": 0, "last_updated": 0, "last_problems": 0, **values}))
            else:
                conn.execute(source_status.update().where(c.source == source).values(**values))
            return values.get("failures", 0)

    def set_next_run(self, source: str, when: datetime | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(source_status.update().where(source_status.c.source == source).values(next_run=when))

    def article_counts(self) -> dict[str, int]:
        """Per source, the files and pages its articles came from (a COUNT over
        every origin: its cost grows with the archive)."""
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(origins.c.source, sa.func.count()).group_by(origins.c.source)).all())

    def status(self, counts: dict[str, int] | None = None) -> dict:
        """Everything `feedpub status` shows: per source, per process.
        `counts`: article_counts() read earlier, when that is recent enough."""
        counts = self.article_counts() if counts is None else counts
        with self.engine.connect() as conn:
            rows = {r.source: dict(r._mapping) for r in conn.execute(sa.select(source_status))}
            open_problems = dict(conn.execute(sa.select(problems.c.source, sa.func.count())
                                              .where(problems.c.severity == "error")
                                              .group_by(problems.c.source)).all())
            procs = [dict(r._mapping) for r in conn.execute(sa.select(processes).order_by(processes.c.host,
                                                                                          processes.c.pid))]
        for name in set(counts) | set(open_problems):
            rows.setdefault(name, {"source": name})
        for name, row in rows.items():
            row["articles"] = counts.get(name, 0)
            row["open_errors"] = open_problems.get(name, 0)
        return {"sources": [rows[k] for k in sorted(rows)], "processes": procs}

    def heartbeat(self, host: str, pid: int, now: datetime, started: datetime | None = None) -> None:
        c = processes.c
        with self.engine.begin() as conn:
            done = conn.execute(processes.update().where(c.host == host, c.pid == pid)
                                .values(heartbeat=now)).rowcount
            if not done:
                conn.execute(processes.insert().values(host=host, pid=pid, started=started or now, heartbeat=now))

    def process_ids(self, host: str) -> list[int]:
        """The publishers of this host that have a heartbeat row (alive or not)."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(processes.c.pid).where(processes.c.host == host)).scalars())

    def forget_process(self, host: str, pid: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(processes.delete().where(processes.c.host == host, processes.c.pid == pid))

    @contextmanager
    def advisory_lock(self, name: str, *, wait: bool):
        """A lock shared by every publisher on this PostgreSQL store (advisory:
        held by a connection, so it dies with the process that held it).
        Yields whether it was taken; on SQLite (one publisher) always True."""
        if self.engine.dialect.name != "postgresql":
            yield True
            return
        key = int.from_bytes(hashlib.sha256(f"feedpub:{name}".encode()).digest()[:8], "big", signed=True)
        with self.engine.connect() as conn:
            if wait:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
                got = True
            else:
                got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()

    def gather_started(self, source: str, host: str, pid: int, when: datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(gathers.insert().values(source=source, host=host, pid=pid, started=when)
                                .returning(gathers.c.pk)).scalar()

    def gather_ended(self, pk: int, when: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(gathers.update().where(gathers.c.pk == pk).values(ended=when))

    def run_lock(self) -> RunLock:
        """The lock that lets one `feedpub run` at a time use this store."""
        return RunLock(self.url)

    def http_memory(self, source: str) -> dict[str, dict]:
        """What a web source remembered: per URL its validators or listing date."""
        c = http_cache.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(c.url, c.etag, c.last_modified, c.listing_date).where(c.source == source))
            return {r.url: {k: v for k, v in (("etag", r.etag), ("last_modified", r.last_modified),
                                                ("listing_date", r.listing_date)) if v is not None or k == "listing_date"}
                    for r in rows}

    def seen_files(self, source: str, locations=None) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) of the files read from a source (all, or those among `locations`)."""
        q = sa.select(seen.c.location, seen.c.size, seen.c.mtime_ns).where(seen.c.source == source)
        with self.engine.connect() as conn:
            if locations is None:
                return {loc: (size, mtime) for loc, size, mtime in conn.execute(q)}
            locations, out = sorted(locations), {}
            for chunk in (locations[i:i + 500] for i in range(0, len(locations), 500)):
                out.update({loc: (size, mtime) for loc, size, mtime in
                            conn.execute(q.where(seen.c.location.in_(chunk)))})
            return out


class StoreLocked(StoreError):
    """Another publisher holds the store."""


class RunLock:
    """One running publisher per SQLite store.

    An flock on a file beside the database: the kernel releases it when the
    process dies, however it dies, so a crashed publisher never blocks the
    next one. (SQLite's own locks can't serve: they are per transaction.)
    """

    def __init__(self, url: str):
        self.url = url
        self.fd: int | None = None
        database = sqlite_file(url)
        if database:
            self.path = database.with_name(database.name + ".lock")
        else:
            self.path = None        # PostgreSQL: any number of publishers, advisory locks per source

    def acquire(self) -> None:
        if self.path is None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise StoreLocked(f"another `feedpub run` ({holder}) is using the store {self.path.with_suffix('')}; "
                              f"stop it first, or give this one another [store] url") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def probe(url: str) -> str:
    """What opening the store at `url` would meet, without creating or
    changing anything (for `feedpub check`). Raises StoreError."""
    path = sqlite_file(url)
    if path:
        if not path.exists():
            folder = next((p for p in [path.parent, *path.parent.parents] if p.exists()), None)
            if folder is None or not os.access(folder, os.W_OK) or _read_only(folder):
                raise StoreError(f"cannot create the store {path}: {folder} is not writable")
            return f"{path} does not exist yet; the first build creates it"
    try:
        engine = sa.create_engine(url)
    except (sa.exc.NoSuchModuleError, ImportError, sa.exc.ArgumentError) as exc:
        raise StoreConfigError(f"store.url: {_safe_url(url)}: {exc}") from None
    try:
        with engine.connect() as conn:
            if _at_head(conn):
                return f"{_safe_url(url)}: at schema revision {HEAD_REVISION}"
            tables = sa.inspect(conn).get_table_names()
            if not tables:
                return f"{_safe_url(url)}: empty; the first build creates the schema"
            raise StoreBehind(f"the store {_safe_url(url)} is behind this feedpub's schema: run `feedpub migrate`")
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"cannot open store {_safe_url(url)}: {exc.__class__.__name__}: "
                         f"{getattr(exc, 'orig', None) or exc}") from None
    finally:
        engine.dispose()


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")   # readers (status, serve) never block the writer
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def newest_first(rows):
    return sorted(rows, key=lambda x: (x[0].published, x[0].id), reverse=True)


def _item(r) -> Item:
    return Item(id=r.id, url=r.url or "", title=r.title, summary=r.summary, body_html=r.body_html,
                published=r.published, updated=r.updated, author=r.author, source_name=r.source_name,
                page_path=r.page_path)


class Transaction:
    """Writes that belong together: one gather of one source."""

    def __init__(self, conn: Connection, id_authority: str):
        self.conn = conn
        self.id_authority = id_authority
        self._cat_cache: dict[str, int] = {}

    def set_meta(self, name: str, value: str) -> None:
        if self.conn.execute(sa.update(meta).where(meta.c.name == name).values(value=value)).rowcount == 0:
            self.conn.execute(meta.insert().values(name=name, value=value))

    def add_pending(self, token: str) -> None:
        """Note that this gather stored changes not yet published. Tokens
        accumulate (one statement, so concurrent gathers cannot lose one):
        a gather after a crash must not hide the crashed one's changes."""
        _insert_or_nothing(self.conn, meta, dict(name=PENDING, value=""), returning=False)
        self.conn.execute(meta.update().where(meta.c.name == PENDING,
                                              sa.func.instr(meta.c.value, token) == 0
                                              if self.conn.dialect.name == "sqlite" else
                                              sa.func.strpos(meta.c.value, token) == 0)
                          .values(value=meta.c.value + " " + token))

    # -- files seen ------------------------------------------------------
    def forget_cache(self) -> None:
        """After a rolled-back savepoint: cached category pks may not exist."""
        self._cat_cache.clear()

    def mark_seen_many(self, source: str, states: list[tuple[str, int, int]]) -> None:
        """Remember (location, size, mtime_ns) of files read: the next scan skips them unread."""
        if not states:
            return
        c = seen.c
        for chunk in (states[i:i + 500] for i in range(0, len(states), 500)):
            self.conn.execute(seen.delete().where(c.source == source, c.location.in_([s[0] for s in chunk])))
            self.conn.execute(seen.insert(), [dict(source=source, location=loc, size=size, mtime_ns=mtime)
                                              for loc, size, mtime in chunk])

    def problem_locations(self, source: str) -> set[str]:
        """Locations of a source with recorded problems, and the files they
        are in (`a.json` for `a.json#3`): only those need clearing on a re-read."""
        found = set()
        for loc in self.conn.execute(sa.select(problems.c.location).where(problems.c.source == source)
                                     .distinct()).scalars():
            found.add(loc)
            while "#" in loc:
                loc = loc.rpartition("#")[0]
                found.add(loc)
        return found

    def forget_seen(self, source: str, location: str) -> None:
        self.conn.execute(seen.delete().where(seen.c.source == source, seen.c.location == location))

    def remember_http(self, source: str, url: str, values: dict) -> None:
        c = http_cache.c
        self.conn.execute(http_cache.delete().where(c.source == source, c.url == url))
        self.conn.execute(http_cache.insert().values(source=source, url=url, etag=values.get("etag"),
                                                     last_modified=values.get("last_modified"),
                                                     listing_date=values.get("listing_date")))

    # -- problems --------------------------------------------------------
    def clear_problems(self, source: str, location: str) -> None:
        """A file read again starts with a clean slate."""
        self.conn.execute(problems.delete().where(problems.c.source == source,
                                                  sa.or_(problems.c.location == location,
                                                         problems.c.location.like(_like_prefix(location), escape="\\"))))

    def record_problem(self, p: Problem, now: datetime) -> None:
        c = problems.c
        hit = self.conn.execute(sa.select(c.pk).where(c.source == p.source, c.location == p.location,
                                                      c.reason == p.reason)).scalar()
        if hit is None:
            self.conn.execute(problems.insert().values(source=p.source, location=p.location, reason=p.reason,
                                                       severity=p.severity, first_seen=now, last_seen=now,
                                                       count=1))
        else:
            self.conn.execute(problems.update().where(c.pk == hit).values(last_seen=now, count=c.count + 1))

    # -- articles --------------------------------------------------------
    def save(self, art: Article, now: datetime) -> Saved:
        """Insert or update one article; ids are minted here and only here."""
        a = articles.c
        row = self.conn.execute(sa.select(articles).where(a.key == art.key)).first()
        if row is None:
            pk = self.conn.execute(sa.select(origins.c.article_pk).where(
                origins.c.source == art.source, origins.c.location == art.location)).scalar()
            if pk is not None:
                row = self.conn.execute(sa.select(articles).where(a.pk == pk)).first()
        now = now.replace(microsecond=0)
        if row is None:
            return self._insert(art, now)
        self._set_origin(art, row.pk)
        if row.content_hash == art.content_hash:
            return Saved("unchanged", frozenset(), row.pk)
        published, updated = merge_times(Stored(row.published, row.dated, row.date_raw, row.updated), art)
        values = dict(title=art.title, summary=art.summary, body_html=art.body_html, author=art.author,
                      source_name=art.source_name, published=published, dated=row.dated or bool(art.published),
                      updated=updated, date_raw=art.date_raw or row.date_raw,
                      content_hash=art.content_hash)
        if art.url and not row.url:
            values["url"] = art.url
        if art.key != row.key and self.conn.execute(sa.select(a.pk).where(a.key == art.key)).first() is None:
            values["key"] = art.key
        self.conn.execute(articles.update().where(a.pk == row.pk).values(**values))
        return Saved("updated", frozenset(self._relink(row.pk, art, published)), row.pk)

    def save_many(self, arts: list[Article], now: datetime) -> list[Saved]:
        """`save` for each article, in order, with new articles inserted a batch
        at a time: one multi-row INSERT per table instead of ~14 statements
        per article. Anything not plainly new (a known key or file, a second
        copy within the batch, a row another publisher just inserted) takes
        the one-by-one path of `save`, so the outcome is the same."""
        if len(arts) < 2 or self.conn.dialect.name not in ("sqlite", "postgresql"):
            return [self.save(art, now) for art in arts]
        now = now.replace(microsecond=0)
        a, o = articles.c, origins.c
        known = set(self.conn.execute(sa.select(a.key).where(a.key.in_({art.key for art in arts}))).scalars())
        placed = set()
        for source in {art.source for art in arts}:
            placed |= {(source, loc) for loc in self.conn.execute(sa.select(o.location).where(
                o.source == source, o.location.in_({art.location for art in arts if art.source == source}))
            ).scalars()}
        fresh, later, keys = [], [], set()
        for i, art in enumerate(arts):
            if art.key in known or art.key in keys or (art.source, art.location) in placed:
                later.append(i)
            else:
                keys.add(art.key)
                placed.add((art.source, art.location))
                fresh.append(i)
        results: list[Saved | None] = [None] * len(arts)
        if fresh:
            rows = [self._new_row(arts[i], now) for i in fresh]
            stmt = _dialect_insert(self.conn, articles).on_conflict_do_nothing().returning(a.pk, a.key)
            inserted = {key: pk for pk, key in self.conn.execute(stmt, rows)}
            origin_rows, link_rows = [], []
            for i, row in zip(fresh, rows):
                art, pk = arts[i], inserted.get(arts[i].key)
                if pk is None:                 # its id or key was taken meanwhile: the careful path
                    later.append(i)
                    continue
                origin_rows.append(dict(source=art.source, location=art.location, article_pk=pk))
                links, cat_keys = self._links(pk, art, row["published"])
                link_rows.extend(links)
                results[i] = Saved("new", frozenset(cat_keys), pk)
            if origin_rows:
                ins = _dialect_insert(self.conn, origins)
                self.conn.execute(ins.on_conflict_do_update(
                    index_elements=[o.source, o.location], set_={"article_pk": ins.excluded.article_pk}), origin_rows)
            self._insert_links(link_rows)
        for i in sorted(later):
            results[i] = self.save(arts[i], now)
        return results

    def _new_row(self, art: Article, now: datetime) -> dict:
        """The row of an article stored for the first time: its id is minted here."""
        minted = mint(art, now, self.id_authority)
        return dict(
            id=minted.id, key=art.key, source=art.source, url=art.url, page_path=minted.page_path,
            title=art.title, summary=art.summary, body_html=art.body_html, author=art.author,
            source_name=art.source_name, published=minted.published, dated=art.published is not None,
            updated=minted.updated, first_seen=now, date_raw=art.date_raw, content_hash=art.content_hash,
        )

    def _insert(self, art: Article, now: datetime) -> Saved:
        row = self._new_row(art, now)
        published = row["published"]
        pk = _insert_or_nothing(self.conn, articles, row)
        if pk is None:
            # Another publisher stored this article a moment ago (its transaction
            # won the unique key): it is ours to update, not to insert again.
            return self.save(art, now)
        self._set_origin(art, pk)
        return Saved("new", frozenset(self._link_categories(pk, art, published)), pk)

    def _set_origin(self, art: Article, pk: int) -> None:
        o = origins.c
        current = self.conn.execute(sa.select(o.article_pk).where(o.source == art.source,
                                                                  o.location == art.location)).scalar()
        if current is None:
            if _insert_or_nothing(self.conn, origins, dict(source=art.source, location=art.location, article_pk=pk),
                                  returning=False) is None:
                current = -1                                    # inserted meanwhile by another publisher
        if current is not None and current != pk:
            self.conn.execute(origins.update().where(o.source == art.source, o.location == art.location)
                              .values(article_pk=pk))

    def _relink(self, pk: int, art: Article, published: datetime) -> set[str]:
        """An edited article's categories: links it keeps are updated in place
        (so they keep their archive places), links it lost go, new ones are
        added. Returns the keys of the categories it was and is in."""
        ac = article_categories.c
        was = self.conn.execute(sa.select(ac.category_pk, ac.spelling, categories.c.key)
                                .join(categories, categories.c.pk == ac.category_pk)
                                .where(ac.article_pk == pk)).all()
        current = {cpk: spelling for cpk, spelling, _ in was}
        rows, keys = self._links(pk, art, published)
        wanted = {r["category_pk"]: r for r in rows}
        gone = [cpk for cpk in current if cpk not in wanted]
        if gone:
            self.conn.execute(article_categories.delete().where(ac.article_pk == pk, ac.category_pk.in_(gone)))
        for cpk, r in wanted.items():
            if cpk in current:
                self.conn.execute(article_categories.update().where(ac.article_pk == pk, ac.category_pk == cpk)
                                  .values(direct=r["direct"], spelling=r["spelling"], published=r["published"]))
        added = [r for cpk, r in wanted.items() if cpk not in current]
        if added:
            self.conn.execute(article_categories.insert(), added)
        delta = Counter((r["category_pk"], r["spelling"]) for r in rows)
        delta.subtract(Counter(current.items()))
        self._count_spellings(delta)
        return keys | {key for _, _, key in was}

    def set_topics(self, pk: int, slugs) -> set[str]:
        """File an article in exactly these filtered feeds (after [[feeds]]
        changed); returns the keys of the feeds it entered or left."""
        ac, c = article_categories.c, categories.c
        row = self.conn.execute(sa.select(articles.c.published).where(articles.c.pk == pk)).first()
        was = {key: (cpk, spelling) for cpk, key, spelling in self.conn.execute(
            sa.select(ac.category_pk, c.key, ac.spelling).join(categories, c.pk == ac.category_pk)
            .where(ac.article_pk == pk, c.key.like(TOPIC + "%")))}
        wanted = {TOPIC + slug: slug for slug in slugs}
        gone = [cpk for key, (cpk, _) in was.items() if key not in wanted]
        if gone:
            self.conn.execute(article_categories.delete().where(ac.article_pk == pk, ac.category_pk.in_(gone)))
        added = [dict(article_pk=pk, category_pk=self._category(key, slug, "feed-" + slug.replace("/", "-")),
                      direct=False, spelling=slug, published=row.published)
                 for key, slug in wanted.items() if key not in was]
        if added:
            self.conn.execute(article_categories.insert(), added)
        delta = Counter((r["category_pk"], r["spelling"]) for r in added)
        delta.subtract(Counter(was[key] for key in was if key not in wanted))
        self._count_spellings(delta)
        return set(wanted) ^ set(was)

    def _link_categories(self, pk: int, art: Article, published: datetime) -> set[str]:
        rows, keys = self._links(pk, art, published)
        self._insert_links(rows)
        return keys

    def _insert_links(self, rows: list[dict]) -> None:
        if rows:
            self.conn.execute(article_categories.insert(), rows)
            self._count_spellings(Counter((r["category_pk"], r["spelling"]) for r in rows))

    def _count_spellings(self, delta: Counter) -> None:
        """Keep category_spellings in step with the links just written or removed."""
        c = category_spellings.c
        for (cpk, spelling), n in sorted(delta.items()):
            if n == 0:
                continue
            if self.conn.dialect.name in ("sqlite", "postgresql"):
                ins = _dialect_insert(self.conn, category_spellings).values(category_pk=cpk, spelling=spelling, links=n)
                self.conn.execute(ins.on_conflict_do_update(index_elements=[c.category_pk, c.spelling],
                                                            set_={"links": c.links + ins.excluded.links}))
            elif not self.conn.execute(category_spellings.update().where(c.category_pk == cpk, c.spelling == spelling)
                                       .values(links=c.links + n)).rowcount:
                self.conn.execute(category_spellings.insert().values(category_pk=cpk, spelling=spelling, links=n))

    def _links(self, pk: int, art: Article, published: datetime) -> tuple[list[dict], set[str]]:
        """The closure rows of one article (its categories and their ancestors)."""
        links: dict[int, tuple[bool, str]] = {}
        keys = set()
        for path in art.categories:
            for n, prefix in enumerate(path.prefixes(), 1):
                cpk = self._category(prefix.key, prefix.levels[-1], None)
                direct = n == len(path.levels)
                if cpk not in links or direct:
                    links[cpk] = (direct or links.get(cpk, (False, ""))[0], prefix.levels[-1])
                keys.add(prefix.key)
        for slug in art.topics:                                   # filtered feeds: not a category it is filed in
            key = TOPIC + slug
            cpk = self._category(key, slug, "feed-" + slug.replace("/", "-"))
            links.setdefault(cpk, (False, slug))
            keys.add(key)
        rows = [dict(article_pk=pk, category_pk=cpk, direct=direct, spelling=spelling, published=published)
                for cpk, (direct, spelling) in sorted(links.items())]
        return rows, keys

    def _category(self, key: str, spelling: str, base: str | None) -> int:
        """The pk of a category, created (its slug minted once, unique among
        its siblings, from `base` or the pinyin of its last level) if new."""
        if key in self._cat_cache:
            return self._cat_cache[key]
        c = categories.c
        pk = self.conn.execute(sa.select(c.pk).where(c.key == key)).scalar()
        if pk is None:
            parent_key = key.rpartition("/")[0]
            parent_pk = self._cat_cache.get(parent_key) or (
                self.conn.execute(sa.select(c.pk).where(c.key == parent_key)).scalar() if parent_key else None)
            taken = set(self.conn.execute(sa.select(c.slug).where(
                c.parent_pk.is_(None) if parent_pk is None else c.parent_pk == parent_pk)).scalars())
            base = base or slug_of(key.rpartition("/")[2])
            while pk is None:
                slug = free_slug(base, taken)
                pk = _insert_or_nothing(self.conn, categories, dict(
                    key=key, parent_pk=parent_pk, depth=key.count("/") + 1, slug=slug, name=spelling))
                if pk is None:          # a concurrent publisher took the key, or the slug
                    pk = self.conn.execute(sa.select(c.pk).where(c.key == key)).scalar()
                    taken.add(slug)
        self._cat_cache[key] = pk
        return pk


def _next_place(conn: Connection) -> int:
    """The all-feed's next archive place (articles are never deleted: no counter needed)."""
    last = conn.execute(sa.select(sa.func.max(articles.c.place))).scalar()
    return 0 if last is None else last + 1


def _dialect_insert(conn: Connection, table: sa.Table):
    """INSERT with ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _insert_or_nothing(conn: Connection, table: sa.Table, values: dict, returning: bool = True):
    """INSERT … ON CONFLICT DO NOTHING: two publishers inserting the same row
    never make two, and never fail (unique constraints, not check-then-insert).
    Returns the new pk, or None if the row (or a unique value) existed."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        nested = conn.begin_nested()
        try:
            result = conn.execute(table.insert().values(**values))
        except sa.exc.IntegrityError:
            nested.rollback()
            return None
        nested.commit()
        return result.inserted_primary_key[0] if returning else True
    stmt = insert(table).values(**values).on_conflict_do_nothing()
    if returning:
        return conn.execute(stmt.returning(table.c.pk)).scalar()
    return True if conn.execute(stmt).rowcount else None


def _like_prefix(location: str) -> str:
    escaped = location.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "#%"


def id_authority(feeds_url: str) -> str:
    """The tag URI authority: the host the feeds are served from."""
    return (urlsplit(feeds_url).hostname or "localhost").lower()
