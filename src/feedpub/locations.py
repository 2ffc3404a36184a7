"""Where a configuration puts things on disk, with the standard library alone.

The configuration (`config`) and the nothing-new check (`unchanged`, which
answers before `config` is imported) must resolve a path the same way; this
is that one way. The same goes for the one store row `unchanged` reads.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_CONFIG = Path("config/feedpub.toml")
DEFAULT_STORE_URL = "sqlite:///state/feedpub.db"
_SQLITE = "sqlite:///"
# The store's meta row holding the tokens of gathers whose changes are not
# published yet (a crash leaves its token there): written by the store, read
# by `unchanged` with sqlite3 alone.
PENDING_META = "publish_pending"


def local_path(raw: str, config: Path) -> Path:
    """A path as the configuration file `config` means it: relative to its folder."""
    p = Path(raw).expanduser()
    return p if p.is_absolute() else config.parent / p


def store_url(url: str, config: Path) -> str:
    """A relative SQLite path made relative to the configuration file, not the cwd."""
    if url.startswith(_SQLITE):
        rest = url[len(_SQLITE):]
        if rest and rest != ":memory:" and not rest.startswith("/"):
            return _SQLITE + str(local_path(rest, config).resolve())
    return url


def sqlite_file(url: str) -> Path | None:
    """The database file of a `sqlite:///…` store URL; None for a server's
    store or an in-memory one."""
    rest = url[len(_SQLITE):] if url.startswith(_SQLITE) else ""
    return Path(rest) if rest and rest != ":memory:" else None
