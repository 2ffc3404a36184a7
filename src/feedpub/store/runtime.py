"""The publishers' own state: meta values, what is not yet published,
heartbeats, locks and gathers in progress."""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa

from ..locations import PENDING_META, sqlite_file
from .errors import StoreLocked
from .schema import gathers, meta, processes
from .sql import insert_or_nothing

REGENERATIONS = "regenerations"  # meta: the last regeneration that wrote files, and totals (JSON)


class RuntimeState:
    """Store methods (on `self.engine`): meta values, pending gathers,
    heartbeats, locks."""

    def get_meta(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(meta.c.value).where(meta.c.name == name)).scalar()

    def set_meta(self, name: str, value: str) -> None:
        with self.transaction() as tx:
            tx.set_meta(name, value)

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

    def pending(self) -> set[str]:
        """The tokens of the gathers that stored changes no regeneration has
        published yet (a crash or a failed publish leaves its token here)."""
        return set((self.get_meta(PENDING_META) or "").split())

    def published(self, tokens: set[str]) -> None:
        """A regeneration published what these gathers stored: forget them,
        and only them (a gather may have added its token meanwhile)."""
        if not tokens:
            return
        with self.begin() as conn:
            for token in sorted(tokens):
                conn.execute(meta.update().where(meta.c.name == PENDING_META)     # as feedpub < 0.2 wrote it: alone
                             .values(value=sa.func.trim(sa.func.replace(" " + meta.c.value, " " + token, ""))))

    def heartbeat(self, host: str, pid: int, now: datetime, started: datetime | None = None) -> None:
        c = processes.c
        with self.begin() as conn:
            done = conn.execute(processes.update().where(c.host == host, c.pid == pid)
                                .values(heartbeat=now)).rowcount
            if not done:
                conn.execute(processes.insert().values(host=host, pid=pid, started=started or now, heartbeat=now))

    def process_ids(self, host: str) -> list[int]:
        """The publishers of this host that have a heartbeat row (alive or not)."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(processes.c.pid).where(processes.c.host == host)).scalars())

    def forget_process(self, host: str, pid: int) -> None:
        with self.begin() as conn:
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
        with self.begin() as conn:
            return conn.execute(gathers.insert().values(source=source, host=host, pid=pid, started=when)
                                .returning(gathers.c.pk)).scalar()

    def gather_ended(self, pk: int, when: datetime) -> None:
        with self.begin() as conn:
            conn.execute(gathers.update().where(gathers.c.pk == pk).values(ended=when))

    def run_lock(self) -> RunLock:
        """The lock that lets one `feedpub run` at a time use this store."""
        return RunLock(self.url)


class RuntimeWrites:
    """Transaction methods (on `self.conn`): meta values and pending marks
    written with the articles they describe."""

    def set_meta(self, name: str, value: str) -> None:
        if self.conn.execute(sa.update(meta).where(meta.c.name == name).values(value=value)).rowcount == 0:
            self.conn.execute(meta.insert().values(name=name, value=value))

    def add_pending(self, token: str) -> None:
        """Note that this gather stored changes not yet published. Tokens
        accumulate (one statement, so concurrent gathers cannot lose one):
        a gather after a crash must not hide the crashed one's changes."""
        insert_or_nothing(self.conn, meta, dict(name=PENDING_META, value=""), returning=False)
        self.conn.execute(meta.update().where(meta.c.name == PENDING_META,
                                              sa.func.instr(meta.c.value, token) == 0
                                              if self.conn.dialect.name == "sqlite" else
                                              sa.func.strpos(meta.c.value, token) == 0)
                          .values(value=meta.c.value + " " + token))


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
