"""The store: articles, categories and the publishers' state in one database
(SQLAlchemy; SQLite by default, PostgreSQL for several publishers).

One module per job: `schema` (tables), `opening` (create, upgrade, probe),
`articles` (article -> rows, ids minted once), `reads` (rows -> what render
needs), `places` (archive places), `source_state` (what sources remember,
problems), `runtime` (meta, heartbeats, locks). `Store` and `Transaction`
are the public face, composed of them."""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..locations import sqlite_file
from .articles import ArticleWrites
from .errors import StoreBehind, StoreBusy, StoreConfigError, StoreError, StoreLocked, is_busy
from .opening import (
    BUSY_TIMEOUT_MS, SCHEMA_LOCK, at_head, begin_sqlite, create_schema, hide_password, probe, schema_revision, sqlite_pragmas,
    upgrade_schema
)
from .places import ArchivePlaces
from .reads import ArticleReads, newest_first
from .runtime import RunLock, RuntimeState, RuntimeWrites
from .source_state import SourceState, SourceWrites

__all__ = ["RunLock", "Store", "StoreBehind", "StoreBusy", "StoreConfigError", "StoreError", "StoreLocked",
           "Transaction", "busy_delay", "id_authority", "is_busy", "newest_first", "probe", "schema_revision"]

log = logging.getLogger("feedpub.store")
T = TypeVar("T")

PATIENCE = 60.0        # seconds a write keeps trying while another writer holds the store


def busy_delay(attempt: int, jitter: float) -> float:
    """Seconds to wait before the `attempt`th retry of a write the store
    refused as busy: 0.05 s doubling to at most 2 s, stretched by `jitter`
    (0..1) so writers refused together do not all come back together."""
    return min(2.0, 0.05 * 2 ** (attempt - 1)) * (1 + jitter)


class Store(ArticleReads, ArchivePlaces, SourceState, RuntimeState):
    """One store, opened (created at the newest schema, or checked to be at
    it) from `[store] url`; each method is one short transaction."""

    def __init__(self, url: str, *, id_authority: str, migrate: bool = False, patience: float = PATIENCE):
        self.url = url
        self.id_authority = id_authority
        self.patience = patience
        self.busy_retries = 0           # writes begun again because the store was busy (status, tests)
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
        # Writes go through `writer`: on SQLite their transactions begin
        # IMMEDIATE (the write lock taken first, waited for), and one thread of
        # this process writes at a time; reads begin deferred and never wait.
        self.writer = self.engine.execution_options(feedpub_write=True)
        self._one_writer = nullcontext()
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", functools.partial(
                sqlite_pragmas, busy_ms=min(BUSY_TIMEOUT_MS, patience * 1000)))
            sa.event.listen(self.engine, "begin", begin_sqlite)
            self._one_writer = threading.RLock()
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
    def begin(self, what: str = "a change"):
        """One write transaction on a connection. On SQLite its BEGIN takes
        the write lock (so no statement in it can be refused as busy later)
        and is tried again while another process holds the lock, for up to
        `patience` seconds; then StoreBusy."""
        with self._one_writer:
            started, attempt = time.monotonic(), 0
            while True:
                conn = self.writer.connect()
                try:
                    trans = conn.begin()
                    break
                except sa.exc.DBAPIError as exc:
                    conn.close()
                    if not is_busy(exc):
                        raise
                    attempt = self._wait_busy(exc, started, attempt, what)
            with conn, trans:
                yield conn

    @contextmanager
    def transaction(self, what: str = "a change") -> Iterator[Transaction]:
        with self.begin(what) as conn:
            yield Transaction(conn, self.id_authority)

    def write(self, work: Callable[[Transaction], T], *, what: str = "a change") -> T:
        """`work(tx)` in one transaction, begun again from the start while the
        store is busy (on PostgreSQL a deadlock or a serialization failure
        ends a transaction half way), for up to `patience` seconds: then
        StoreBusy. `work` must touch nothing but the transaction, so running
        it twice is running it once."""
        started, attempt = time.monotonic(), 0
        while True:
            try:
                with self.transaction(what) as tx:
                    return work(tx)
            except sa.exc.DBAPIError as exc:
                if not is_busy(exc):
                    raise
                attempt = self._wait_busy(exc, started, attempt, what)

    def _wait_busy(self, exc: Exception, started: float, attempt: int, what: str) -> int:
        """After a busy refusal: wait before the next attempt, or give up
        (StoreBusy) once `patience` is spent. Returns the attempt number."""
        attempt += 1
        waited = time.monotonic() - started
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        if waited >= self.patience:
            raise StoreBusy(f"{what}: not stored, the store {self.safe_url} stayed busy for {waited:.0f}s "
                            f"({reason})") from None
        delay = min(busy_delay(attempt, random.random()), self.patience - waited)
        self.busy_retries += 1
        log.warning("the store is busy (%s): %s begins again in %.2fs (retry %d)", reason, what, delay, attempt)
        time.sleep(delay)
        return attempt


class Transaction(ArticleWrites, SourceWrites, RuntimeWrites):
    """Writes that belong together: one gather of one source."""

    def __init__(self, conn: Connection, id_authority: str):
        self.conn = conn
        self.id_authority = id_authority
        self._cat_cache: dict[str, int] = {}


def id_authority(feeds_url: str) -> str:
    """The tag URI authority: the host the feeds are served from."""
    return (urlsplit(feeds_url).hostname or "localhost").lower()
