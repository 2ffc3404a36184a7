"""The store: articles, categories and the publishers' state in one database
(SQLAlchemy; SQLite by default, PostgreSQL for several publishers).

One module per job: `schema` (tables), `opening` (create, upgrade, probe),
`articles` (article -> rows, ids minted once), `reads` (rows -> what render
needs), `places` (archive places), `source_state` (what sources remember,
problems), `runtime` (meta, heartbeats, locks). `Store` and `Transaction`
are the public face, composed of them."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..locations import sqlite_file
from .articles import ArticleWrites
from .errors import StoreBehind, StoreConfigError, StoreError, StoreLocked
from .opening import (
    SCHEMA_LOCK, at_head, create_schema, hide_password, probe, schema_revision, sqlite_pragmas,
    upgrade_schema
)
from .places import ArchivePlaces
from .reads import ArticleReads, newest_first
from .runtime import RunLock, RuntimeState, RuntimeWrites
from .source_state import SourceState, SourceWrites

__all__ = ["RunLock", "Store", "StoreBehind", "StoreConfigError", "StoreError", "StoreLocked", "Transaction",
           "id_authority", "newest_first", "probe", "schema_revision"]


class Store(ArticleReads, ArchivePlaces, SourceState, RuntimeState):
    """One store, opened (created at the newest schema, or checked to be at
    it) from `[store] url`; each method is one short transaction."""

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
                f"store.url: {hide_password(url)}: SQLAlchemy has no such database dialect (feedpub is tested with "
                f"sqlite:///…, postgresql+psycopg://… and mysql+pymysql://…)") from None
        except ImportError as exc:
            raise StoreConfigError(
                f"store.url: {hide_password(url)}: its database driver is not installed ({exc}); for PostgreSQL "
                f"use postgresql+psycopg:// with `pip install -e '.[postgresql]'`") from None
        except sa.exc.ArgumentError as exc:
            raise StoreConfigError(f"store.url: {hide_password(url)}: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", sqlite_pragmas)
        try:
            with self.engine.connect() as conn:
                if at_head(conn):
                    return                               # the common case: no need to load Alembic
            self._migrate(migrate)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot open store {hide_password(url)}: {exc.__class__.__name__}: "
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
            sa.event.listen(engine, "connect", sqlite_pragmas)
        try:
            with engine.connect() as conn:
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")        # DDL included, one writer
                else:
                    conn = conn.execution_options(isolation_level="READ COMMITTED")
                    conn.begin()
                    # publishers starting together: one creates or checks the schema at a time
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK})
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
        if at_head(conn):
            return                                       # another publisher made it meanwhile
        if not sa.inspect(conn).get_table_names():
            create_schema(conn)                                # a new store starts at the newest schema
            return
        current, head = schema_revision(conn)
        if current is None:
            upgrade_schema(conn)
        elif current != head and not migrate:
            raise StoreBehind(
                f"the store {hide_password(self.url)} is at schema revision {current}, this feedpub needs {head}: "
                f"run `feedpub migrate` (back the store up first)")
        elif current != head:
            upgrade_schema(conn)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def safe_url(self) -> str:
        return hide_password(self.url)

    @property
    def shareable(self) -> bool:
        """Can another process open this same store (not an in-memory one)?"""
        return self.engine.url.database not in (None, "", ":memory:") or self.engine.dialect.name != "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self.engine.begin() as conn:
            yield Transaction(conn, self.id_authority)


class Transaction(ArticleWrites, SourceWrites, RuntimeWrites):
    """Writes that belong together: one gather of one source."""

    def __init__(self, conn: Connection, id_authority: str):
        self.conn = conn
        self.id_authority = id_authority
        self._cat_cache: dict[str, int] = {}


def id_authority(feeds_url: str) -> str:
    """The tag URI authority: the host the feeds are served from."""
    return (urlsplit(feeds_url).hostname or "localhost").lower()
