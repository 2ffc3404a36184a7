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
