"""Creating, upgrading and probing a store: the only module that knows Alembic."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from ..locations import sqlite_file
from .errors import StoreBehind, StoreConfigError, StoreError
from .schema import HEAD_REVISION, metadata


MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


SCHEMA_LOCK = 0x66656564707562  # "feedpub"


def alembic_config(conn):
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def at_head(conn) -> bool:
    """Is the store at HEAD_REVISION? Asked with one query, without Alembic."""
    if "alembic_version" not in sa.inspect(conn).get_table_names():
        return False
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION


def schema_revision(conn) -> tuple[str | None, str]:
    """(the store's revision, or None for an empty store; the newest revision)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    head = ScriptDirectory.from_config(alembic_config(conn)).get_current_head()
    current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        tables = set(sa.inspect(conn).get_table_names())
        if "articles" in tables:
            # A store from before migrations existed: say which schema it has.
            from alembic import command
            current = "0002" if "gathers" in tables else "0001"
            command.stamp(alembic_config(conn), current)
    return current, head


def create_schema(conn) -> None:
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


def upgrade_schema(conn) -> None:
    from alembic import command
    command.upgrade(alembic_config(conn), "head")


def hide_password(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def probe(url: str) -> str:
    """What opening the store at `url` would meet, without creating or
    changing anything (for `feedpub check`). Raises StoreError."""
    path = sqlite_file(url)
    if path:
        if not path.exists():
            folder = next((p for p in [path.parent, *path.parent.parents] if p.exists()), None)
            if folder is None or not os.access(folder, os.W_OK) or read_only(folder):
                raise StoreError(f"cannot create the store {path}: {folder} is not writable")
            return f"{path} does not exist yet; the first build creates it"
    try:
        engine = sa.create_engine(url)
    except (sa.exc.NoSuchModuleError, ImportError, sa.exc.ArgumentError) as exc:
        raise StoreConfigError(f"store.url: {hide_password(url)}: {exc}") from None
    try:
        with engine.connect() as conn:
            if at_head(conn):
                return f"{hide_password(url)}: at schema revision {HEAD_REVISION}"
            tables = sa.inspect(conn).get_table_names()
            if not tables:
                return f"{hide_password(url)}: empty; the first build creates the schema"
            raise StoreBehind(f"the store {hide_password(url)} is behind this feedpub's schema: run `feedpub migrate`")
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"cannot open store {hide_password(url)}: {exc.__class__.__name__}: "
                         f"{getattr(exc, 'orig', None) or exc}") from None
    finally:
        engine.dispose()


def read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


BUSY_TIMEOUT_MS = 2000   # one attempt's wait for SQLite's write lock; Store.write begins again after it


def sqlite_pragmas(dbapi_conn, _record, busy_ms: int = BUSY_TIMEOUT_MS) -> None:
    # The driver's own transaction handling off (it begins deferred, and not
    # before SAVEPOINT): SQLAlchemy's "begin" event says BEGIN (begin_sqlite).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    # 16 KB pages for a new store (an existing one keeps its own: WAL fixes it):
    # article rows are a few KB, and a cold build of 10,000 ran 4 % faster.
    cur.execute("PRAGMA page_size=16384")
    cur.execute("PRAGMA journal_mode=WAL")   # readers (status, serve) never block the writer
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cur.close()


def begin_sqlite(conn) -> None:
    """BEGIN IMMEDIATE for a write, BEGIN for a read. A deferred transaction
    that reads and then writes is refused at once under WAL when another
    writer committed meanwhile (SQLITE_BUSY_SNAPSHOT: no busy wait helps);
    one that takes the write lock first waits for it instead."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("feedpub_write") else "BEGIN")
