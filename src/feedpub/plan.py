"""What a regeneration renders and writes, decided from values alone.

`regenerate` takes one snapshot (what the gathers changed, the pending marks
of runs that died before publishing, the fingerprints, the channels, their
closed archive pages, and the names of the files present in their folders,
as `publish` lists them) and asks `plan` what to do; then it does exactly
that. No store, no disk, no clock here: the rules are unit-tested alone
(tests/test_rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from .render.layout import ARCHIVE_FORMATS, Channel, with_variant


@dataclass(frozen=True)
class Snapshot:
    changed_categories: frozenset[str] | None   # keys of the categories whose items changed; None: unknown
    changed_articles: frozenset[int] | None     # pks of the articles that changed; None: unknown
    foreign_pending: bool                       # a crashed or failed run stored changes it did not publish
    fingerprint: str                            # the configuration and every category's name and place, now
    published_fingerprint: str | None           # ... when the last regeneration ended
    channels: tuple[Channel, ...]               # the all-channel first
    closed: dict                                # category pk (None: all) -> archive pages closed for good
    has_items: bool
    formats: tuple[str, ...]
    variants: tuple[str, ...]
    present: dict                               # folder (relative, "" the root) -> names of the files in it


@dataclass(frozen=True)
class Plan:
    render: bool                                # False: nothing to do at all
    everything: bool                            # every channel, page and article page
    article_pages: tuple[int, ...] | None       # pks of the article pages to render; None: every one
    channels: tuple[Channel, ...]               # channels whose feeds, page and OPML to render
    archive_pages: tuple[tuple[Channel, int], ...]   # closed archive pages absent on disk, to write once
    index: tuple[Channel, ...]                  # channels the index and the OPML files list


def folders_to_list(channels, closed: dict) -> list[str]:
    """The folders whose file names a plan needs: each channel's, and the
    archive folder of each channel with closed pages."""
    out = []
    for ch in channels:
        out.append(ch.folder)
        if closed.get(ch.category_pk, 0):
            out.append(_archive_folder(ch))
    return out


def plan(s: Snapshot) -> Plan:
    """Everything is rendered when the changes are not known, when another
    run's changes wait, when the configuration or a category's name or place
    changed, or when a current feed file is missing; otherwise the channels
    whose items changed (and the all-channel). Of each rendered channel, the
    closed archive pages not all on disk are written (a page removed by hand
    is restored)."""
    everything = s.changed_categories is None or s.changed_articles is None or s.foreign_pending \
        or s.published_fingerprint != s.fingerprint \
        or any(not _present(s, ch.file(f)) for ch in s.channels for f in s.formats)
    if not everything and not s.changed_categories and not s.changed_articles:
        return Plan(False, False, (), (), (), ())
    chans = s.channels if s.has_items else s.channels[:1]
    todo = tuple(ch for ch in chans if everything or ch.category_pk is None or ch.key in s.changed_categories)
    archives = tuple((ch, page) for ch in todo
                     for page in missing_archive_pages(s.closed.get(ch.category_pk, 0),
                                                       s.present.get(_archive_folder(ch), ()), s.variants))
    return Plan(True, everything, None if everything else tuple(sorted(s.changed_articles)), todo, archives, chans)


def missing_archive_pages(closed: int, present, variants=()) -> list[int]:
    """The closed pages (1..closed) not on disk in every archive format (and
    script variant), newest first, given the names in the archive folder.
    Pages are written once, so only these are rendered; a page deleted by
    hand is among them."""
    names = set(present)
    return [page for page in range(closed, 0, -1)
            if not all(with_variant(f"{page}.{fmt}.xml", v) in names for fmt in ARCHIVE_FORMATS
                       for v in (None, *variants))]


def _archive_folder(ch: Channel) -> str:
    return ch.archive(ARCHIVE_FORMATS[0], 1).rpartition("/")[0]


def _present(s: Snapshot, rel: str) -> bool:
    folder, _, name = rel.rpartition("/")
    return name in s.present.get(folder, ())
