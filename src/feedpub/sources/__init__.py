"""Gather: the places articles come from. A source yields RawArticles, as written.

Every source type is a class with one shape (`SourceType`), found by the
`type` of its [[sources]] entry in `TYPES`: `build` has one gather path for
all of them, and a new type is a module and a line here (and its keys in
config.py). What a source remembers between gathers (files seen, HTTP
validators, a high-water mark) is opaque text only its type reads, handed in
by `recall` and handed back in `Gathered.remember`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable, Protocol

from ..model import Problem, RawArticle


class SourceError(Exception):
    """One file, page or query could not be read; the message says why."""


@dataclass(slots=True)
class Unit:
    """One file, page or row: read, normalized and stored together; its
    problems are recorded under its location. Small (a cold gather of a
    large folder holds one per file): how messages name it and what is
    remembered of it are the source type's `where` and `memo`."""

    location: str
    raws: list[RawArticle] | None = None     # read already (a page, a row); else the type's `read(task)` reads it
    task: object = None                      # the type's own: what `read` needs (a folder's FileState, sent to
                                             # worker processes), or what `memo` keeps (a page's listing date)


@dataclass
class Gathered:
    """What one gather of one source found, as values; `build` stores it."""

    units: list[Unit]
    problems: list[tuple[Problem, str]] = field(default_factory=list)   # the source's own, each with where
    remember: dict[str, str] = field(default_factory=dict)   # memory to keep once every unit is stored
    fetched: int = 0                         # pages or rows fetched to find the units
    skipped: int = 0                         # files unchanged since they were read
    deferred: list[str] = field(default_factory=list)       # files still being written, left for later
    hosts: dict[str, tuple[int, int, float]] = field(default_factory=dict)   # host -> requests, 304s, network s
    read: list | None = None                 # its units read and normalized already (by a worker process)


# What a source remembered: all of it (None), or what it holds for these keys.
Recall = Callable[[list[str] | None], dict[str, str]]


class SourceType(Protocol):
    local: bool     # gathering reads only this machine's files (`feedpub check` may do it)

    def __init__(self, settings, site_link: str) -> None:
        """`settings` is the source's [[sources]] entry (config.Source)."""

    def describe(self) -> str:
        """One line for `feedpub check`: what and where the source is."""

    def gather(self, recall: Recall, *, should_stop=None, only=None, hold=None, settle: float = 0.0,
               listing=None, progress=None) -> Gathered:
        """What is new or changed since what `recall` says was seen. `only`
        and `hold` name locations to look at and to leave for later (a
        watched folder's events), `settle` how long a file must keep still,
        `listing` the files a walk just made found (location, size,
        mtime_ns; every file, unfiltered); types that have no such thing
        ignore them. `progress(kind)` hears of work done before `gather`
        returns ("fetched": a request sent), for a long first gather."""

    def read(self, task) -> list[RawArticle]:
        """Read a Unit's task (in a worker process, when there are many)."""

    def where(self, location: str) -> str:
        """How messages name a unit (a file's whole path)."""

    def memo(self, unit: Unit) -> str | None:
        """What to remember of a unit once it was usable (None: nothing)."""


TYPES = {"folder": "folder:FolderSource", "web": "web:WebGatherer", "sql": "sql:SqlSource"}


def source_type(kind: str) -> type[SourceType]:
    """The class of a source type, its module imported only now (a folder-only
    build never loads httpx or lxml)."""
    module, _, name = TYPES[kind].partition(":")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def check(settings) -> None:
    """What only a source type knows how to check about its settings (a web
    source's CSS selectors and JMESPath expressions), checked before anything
    runs: a ConfigError naming the file and the key, as for the rest of the
    configuration."""
    from ..config import ConfigError
    for n, source in enumerate(settings.sources):
        if source.type != "web":
            continue
        from .select import SelectorError, compile_path, compile_selector
        web = source.web
        if web.render == "browser" or (web.article is not None and web.article.render == "browser"):
            from .browser import available
            why = available()
            if why:
                raise ConfigError(f"{settings.path}: sources[{n}] ({source.name}).render: {why}")
        listing = compile_path if web.listing == "json" else compile_selector
        fields = [("item", web.item, listing), ("next_page", web.next_page, compile_selector)]
        fields += [(k, getattr(web, k), listing) for k in ("title", "link", "date", "source", "summary")]
        if web.article is not None:
            fields += [(f"article.{k}", getattr(web.article, k), compile_selector)
                       for k in ("title", "date", "source", "body", "breadcrumb", "author")]
        for key, value, compile_ in fields:
            if value is None:
                continue
            try:
                compile_(value if isinstance(value, str) else value.select)
            except SelectorError as exc:
                raise ConfigError(f"{settings.path}: sources[{n}] ({source.name}).{key}: {exc}") from None
