"""What can go wrong opening a store, as exceptions a caller can tell apart."""

from __future__ import annotations

class StoreError(Exception):
    """The store cannot be opened or is of another version."""


class StoreBehind(StoreError):
    """The store's schema is older than this feedpub's: `feedpub migrate`."""


class StoreConfigError(StoreError):
    """`[store] url` names a database feedpub cannot talk to (no such dialect, no driver)."""


class StoreLocked(StoreError):
    """Another publisher holds the store."""


class StoreBusy(StoreError):
    """Another writer held the store for longer than a write waits: what
    that write carried was not stored (and is read again next time)."""


SQLITE_BUSY, SQLITE_LOCKED = 5, 6
# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available
PG_BUSY = {"40001", "40P01", "55P03"}


def is_busy(exc: Exception) -> bool:
    """Was a statement refused because another transaction holds what it
    needs (worth beginning again), not because it is wrong?"""
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
    if getattr(orig, "sqlstate", None) in PG_BUSY:
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database table is locked" in text
