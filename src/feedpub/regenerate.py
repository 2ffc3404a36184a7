"""Store -> output folder: render what changed and write what differs.

The step after every gather. It decides what must be rendered (only the
channels whose items changed, unless something every file depends on
changed), renders them with `render`, and writes with `publish`. Feeds,
their RFC 5005 archive pages, category and article pages, the index, the
OPML files and the XSL view all come from here.
"""

from __future__ import annotations

import hashlib
import os
import sys
from bisect import bisect_left
from collections import OrderedDict, deque
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace

from dateutil import tz

from . import __version__, publish
from .config import Settings
from .normalize.categories import key_of
from .plan import Snapshot, folders_to_list, plan
from .render import feeds as render_feeds
from .render import pages, stylesheet
from .render.layout import ARCHIVE_FORMATS, FORMATS, OPML_FILES, Channel, absolute, channels, with_variant
from .render.variants import convert_item, convert_text
from .store import Store, newest_first
from .workers import cores, pool as worker_pool

FINGERPRINT = "render_fingerprint"
CONFIG_FINGERPRINT = "render_config"
# Items (rows and feed entries) kept while archive pages are written: more than
# the span of archive order one category's page covers (~50 pages x 50 items).
SHARED_ITEMS = 4000
# Pages (archive or article) to write: below this many, worker processes cost more than they save.
PARALLEL_PAGES = 100
# Channels (current feeds, category page, OPML: ~15 ms each) to render: below this many, the same.
PARALLEL_CHANNELS = 40
# Pages (or archive pages) one worker task renders at most: what it hands back stays small.
RUN = 2000


@dataclass
class Result:
    written: int = 0
    unchanged: int = 0
    changed_feeds: list[str] = field(default_factory=list)   # URLs of current feeds whose bytes changed


def regenerate(settings: Settings, store: Store, *, changed_categories: set[str] | None = None,
               changed_articles: set[int] | None = None, tokens: frozenset[str] = frozenset(),
               in_flight: frozenset[str] = frozenset(), progress=None) -> Result:
    """Render feeds and pages from the store and write those that differ.

    With `changed_*` given, only what they touch is rendered (a quiet tick
    renders nothing); everything is rendered when they are None, when the
    configuration or a category's name or place changed since the last
    publish, when a feed file has gone missing, or when an earlier run
    stored changes and died before publishing them (a pending mark that is
    neither in `tokens`, the gathers whose changes these are, nor in
    `in_flight`, gathers of this process still under way).
    """
    run = _Run(settings, store)
    if progress is not None:
        run.progress = progress
    return run.run(changed_categories, changed_articles, tokens, in_flight)


class _Run:
    def __init__(self, settings: Settings, store: Store):
        self.settings, self.store = settings, store
        self.out = settings.output.dir
        self.zone = tz.gettz(settings.site.timezone)
        self.chans: list[Channel] = []
        self.by_pk: dict = {}
        self.by_folder: dict = {}
        self.result = Result()
        self.formats = settings.output.formats
        self.variants = settings.output.variants
        self._counts: dict | None = None
        self._places: dict | None = None
        self._own: set[int] | None = None
        self.batch: publish.Batch | None = None
        self.progress = Unwatched()
        # An item is in its category's feeds and archive pages, its parents' and the all-feed's:
        # its entry serialized once per format for all of them (items do not change within a run).
        self._shares = {v: render_feeds.SharedEntries(SHARED_ITEMS) for v in (None, *self.variants)}

    def counts(self) -> dict:
        """Items per category (None: all), read once per regeneration."""
        if self._counts is None:
            self._counts = dict(self.store.counts())
            self._counts[None] = self.store.article_count()
        return self._counts

    def closed(self, ch: Channel) -> int:
        """How many archive pages of a channel are full (closed for good)."""
        if self._places is None:
            self._places = self.store.places()
        return self._places.get(ch.category_pk, 0) // self.settings.output.archive_page_size

    def url_of(self, rel: str) -> str:
        return absolute(self.settings, rel)

    def put(self, rel: str, data: bytes, *, once: bool = False) -> bool:
        """Write if different (or, for immutable archive pages, only if absent)."""
        if self.batch.write(rel, data, once=once):
            self.result.written += 1
            self.progress.advance("written")
            return True
        self.result.unchanged += 1
        return False

    def _load_channels(self) -> None:
        """Categories with their names and places: a query over every item's
        categories (the most used spelling), so quiet ticks skip it."""
        overrides = {key_of(k): v for k, v in self.settings.categories.items()}
        self._use_channels(channels(self.store.categories(), self.store.spellings(), overrides,
                                    self.settings.feeds))

    def _use_channels(self, chans: list[Channel]) -> None:
        self.chans = chans
        self.by_pk = {c.category_pk: c for c in chans}
        self.by_folder = {c.folder: c for c in chans if c.category_pk is not None}

    def run(self, changed_categories, changed_articles, tokens, in_flight) -> Result:
        publish.make_folder(self.out)
        config = self._config_fingerprint()
        pending = self.store.pending() - in_flight           # those in flight publish in their own turn
        foreign_pending = bool(pending - tokens)             # a crashed or failed run's changes
        quiet = changed_categories is not None and changed_articles is not None \
            and not changed_categories and not changed_articles
        if quiet and not foreign_pending and self.store.get_meta(CONFIG_FINGERPRINT) == config and \
                {FORMATS[f] for f in self.formats} <= publish.listing(self.out, [""])[""]:
            return self.result                   # a quiet tick: costs a few reads, whatever the archive
        self.store.place_items()
        self._load_channels()
        fingerprint = self._fingerprint(config)
        closed = {ch.category_pk: self.closed(ch) for ch in self.chans}
        todo = plan(Snapshot(
            changed_categories=None if changed_categories is None else frozenset(changed_categories),
            changed_articles=None if changed_articles is None else frozenset(changed_articles),
            foreign_pending=foreign_pending, fingerprint=fingerprint,
            published_fingerprint=self.store.get_meta(FINGERPRINT), channels=tuple(self.chans), closed=closed,
            has_items=bool(self.counts()[None]), formats=tuple(self.formats), variants=tuple(self.variants),
            present=publish.listing(self.out, folders_to_list(self.chans, closed))))
        if not todo.render:
            return self.result
        with publish.Batch(self.out) as self.batch:
            # What a feed links to first (article pages, its newest archive page):
            # the Batch renames in the order written, so no link points at a missing file.
            self._spread("_article_pages", self.store.page_pks() if todo.article_pages is None
                         else list(todo.article_pages))
            self._write_archives(todo.archive_pages)
            self._spread("_channels", list(todo.channels), PARALLEL_CHANNELS)
            self._index(list(todo.index))
            if self.settings.output.stylesheet:
                self.put("feed.xsl", stylesheet.xsl())
        self.store.set_meta(FINGERPRINT, fingerprint)
        self.store.set_meta(CONFIG_FINGERPRINT, config)
        self.store.published(pending)
        return self.result

    def _article_pages(self, pks: list[int]) -> None:
        for item, cats in self.store.pages(pks):
            first = self.by_pk.get(cats[0]) if cats else None
            self.put(item.page_path, pages.article_page(
                item, self._chain(first) if first else [], site_title=self.settings.site.title,
                lang=self.settings.site.language, zone=self.zone, url_of=self.url_of))

    def _spread(self, step: str, work: list, least: int | None = None) -> None:
        """Do `step` (a method of this class taking a list) over `work`.

        When there is much of it (a first build: every article page, every
        archive page), it is cut, in order, into runs of at most RUN items
        (and at least one per core), each done by a worker process with its
        own connection to the store. Their files come back as temporary
        files that this run's Batch publishes with the rest (renames in
        order, a sync every Batch.limit files). Runs are bounded so that
        neither a worker nor this process ever holds the list of every file
        written (200,000 article pages: 100,000 paths per worker when there
        was one run per core). A worker that dies has its run done here.
        """
        workers = cores()
        least = PARALLEL_PAGES if least is None else least          # items below which it is done here
        if workers < 2 or len(work) < least or not self.store.shareable:
            getattr(self, step)(work)
            return
        count = max(workers, -(-len(work) // RUN))
        runs = [work[i * len(work) // count:(i + 1) * len(work) // count] for i in range(count)]
        failed, error = [], None
        with worker_pool(workers) as pool:
            # A deque let go of as the results are taken: a done future holds its files' list.
            futures = deque(pool.submit(_worker, self.settings, self.chans, self.store.url, self.store.id_authority,
                                        step, run, os.getpid()) for run in runs)
            for run in runs:
                try:
                    pending, written, unchanged, changed_feeds = futures.popleft().result()
                except BrokenProcessPool:        # a worker died (killed, out of memory): do its part here
                    failed.append(run)
                    continue
                except Exception as exc:         # raised once every worker's files are ours to discard
                    error = error or exc
                    continue
                self.batch.adopt(pending)
                self.result.written += written
                self.progress.advance("written", written)
                self.result.unchanged += unchanged
                self.result.changed_feeds += changed_feeds
        if error is not None:
            raise error
        for run in failed:
            getattr(self, step)(run)

    # -- one channel: its feeds, archives, page and OPML ---------------------
    def _chain(self, ch: Channel) -> list[Channel]:
        """The channel and its ancestors, root first."""
        result = [ch]
        while result[0].parent_folder:
            result.insert(0, self.by_folder[result[0].parent_folder])
        return result

    def _entries(self, rows) -> list[render_feeds.Entry]:
        return [render_feeds.Entry(item, item.url or self.url_of(item.page_path),
                                   tuple(self.by_pk[c].path_label for c in cats if c in self.by_pk))
                for item, cats in rows]

    def _info(self, ch: Channel, *, archive: bool = False, links: dict | None = None,
              urls: dict | None = None, variant: str | None = None) -> render_feeds.FeedInfo:
        info = self._base_info(ch, archive=archive, links=links, urls=urls, variant=variant)
        if variant is None:
            return info
        return replace(info, title=convert_text(info.title, variant),
                       description=convert_text(info.description, variant), language=variant)

    def _base_info(self, ch: Channel, *, archive: bool, links: dict | None, urls: dict | None,
                   variant: str | None) -> render_feeds.FeedInfo:
        s = self.settings
        if ch.category_pk is None:
            title, home, description = s.site.title, s.site.link, s.site.description or s.site.title
        else:
            title, home = f"{s.site.title}: {ch.display}", self.url_of(ch.page)
            description = f"{ch.display} · {s.site.title}"
        if archive:
            title = f"{title} (archive)"
        # Relative, so the view works wherever the folder is served (/feeds/, /, a CDN).
        depth = (ch.folder.count("/") + 1 if ch.folder else 0) + (1 if archive else 0)
        xsl = "../" * depth + "feed.xsl" if s.output.stylesheet else None
        return render_feeds.FeedInfo(
            title=title, description=description, home=home,
            urls=urls or {f: self.url_of(ch.file(f, variant)) for f in ("rss", "atom", "json")},
            language=s.site.language, author=s.site.author or s.site.title, copyright=s.site.copyright,
            icon=s.site.icon, logo=s.site.logo, ttl=self._ttl(), hubs=s.websub.hubs, stylesheet=xsl,
            archive=archive, archive_links=links or {}, full_text=s.output.full_text, email=s.site.email)

    def _channels(self, chans: list[Channel]) -> None:
        for ch in chans:
            self._channel(ch)

    def _channel(self, ch: Channel) -> None:
        s = self.settings
        closed = self.closed(ch)
        rows = current_items(self.store.not_archived(ch.category_pk, closed * s.output.archive_page_size),
                             self.store.newest(ch.category_pk, s.output.max_items), s.output.max_items)
        entries = self._entries(rows)
        for variant in (None, *self.variants):
            links = {}
            if closed:
                links["prev-archive"] = {f: self.url_of(ch.archive(f, closed, variant)) for f in ARCHIVE_FORMATS}
            info = self._info(ch, links=links, variant=variant)
            for fmt, data in render_feeds.render_capped(self.formats, info, self._in(entries, variant), self.zone,
                                                        s.output.max_bytes, shared=self._shares[variant]).items():
                if self.put(ch.file(fmt, variant), data):
                    self.result.changed_feeds.append(self.url_of(ch.file(fmt, variant)))
        if ch.category_pk is not None:
            kids = [c for c in self.chans if c.parent_folder == ch.folder and c.category_pk is not None]
            self.put(ch.page, pages.category_page(
                ch, self._chain(ch), kids, [e.item for e in entries], site_title=s.site.title,
                lang=s.site.language, zone=self.zone, url_of=self.url_of, formats=self.formats,
                variants=self.variants))
            offered = [ch] if ch.topic else pages.subscribable(self.chans, self.own(), root=ch)
            self.put(ch.opml, pages.opml(self.chans, offered, title=f"{s.site.title}: {ch.display}",
                                         label=self._feed_title, url_of=self.url_of))

    def _write_archives(self, todo) -> None:
        """Closed pages are written once and never again (caches keep them forever).

        An item is on a page of its category, of each parent and of the
        all-feed. Pages are rendered in the order they filled up (by their
        newest stored item), so the pages that share an item come close
        together and its row and feed entry, kept in small LRU caches, are
        read and built about once instead of once per page (in each worker,
        when a first build spreads them over the cores).
        """
        size = self.settings.output.archive_page_size
        order = None                    # (category pk, places, pks): one channel's at a time, the plan
        jobs = []                       # lists each channel's pages together
        for ch, page in todo:
            if order is None or order[0] != ch.category_pk:
                placed = self.store.archive_places(ch.category_pk)
                order = (ch.category_pk, [place for place, _ in placed], [pk for _, pk in placed])
                del placed
            _, places, pks = order
            pks = pks[bisect_left(places, (page - 1) * size):bisect_left(places, page * size)]
            jobs.append((max(pks, default=-1), ch.folder, page, pks))
        order = None
        jobs.sort(key=lambda job: job[:3])
        self._spread("_render_archives", jobs)

    def _render_archives(self, jobs: list) -> None:
        rows: OrderedDict = OrderedDict()
        for _, folder, page, pks in jobs:
            ch = self.by_folder.get(folder) if folder else self.chans[0]
            missing = [pk for pk in pks if pk not in rows]
            rows.update(self.store.items(missing))
            for pk in pks:
                rows.move_to_end(pk)
            while len(rows) > SHARED_ITEMS:
                rows.popitem(last=False)
            entries = self._entries(newest_first([rows[pk] for pk in pks if pk in rows]))
            for variant in (None, *self.variants):
                # No next-archive: when this page is written the next one may not exist
                # yet, and a closed page never changes. RFC 5005 makes the link
                # optional; walkers go from the current feed down prev-archive.
                links = {"current": {f: self.url_of(ch.file(f, variant)) for f in ARCHIVE_FORMATS}}
                if page > 1:
                    links["prev-archive"] = {f: self.url_of(ch.archive(f, page - 1, variant))
                                             for f in ARCHIVE_FORMATS}
                urls = {f: self.url_of(ch.archive(f, page, variant)) for f in ARCHIVE_FORMATS}
                urls["json"] = ""
                info = self._info(ch, archive=True, links=links, urls=urls, variant=variant)
                for fmt, data in render_feeds.render_capped(ARCHIVE_FORMATS, info, self._in(entries, variant),
                                                            self.zone, self.settings.output.max_bytes,
                                                            shared=self._shares[variant], keep_all=True).items():
                    self.put(ch.archive(fmt, page, variant), data, once=True)

    def _in(self, entries: list, variant: str | None) -> list:
        """The entries in a script variant: items, and category labels, converted."""
        if variant is None:
            return entries
        return [render_feeds.Entry(convert_item(e.item, variant), e.link,
                                   tuple(convert_text(c, variant) for c in e.categories)) for e in entries]

    def _index(self, chans: list[Channel]) -> None:
        s = self.settings
        counts, newest = self.counts(), self.store.newest_times()
        listed = [(c, counts.get(c.category_pk, 0), newest.get(c.category_pk)) for c in pages.tree_order(chans)]
        topics = [c for c in chans if c.topic]
        listed_topics = [(c, counts.get(c.category_pk, 0), newest.get(c.category_pk)) for c in topics]
        recent = [item for item, _ in self.store.newest(None, 20)]
        xml_formats = [f for f in ("rss", "atom") if f in self.formats]
        opml_files = {f: OPML_FILES[f] for f in xml_formats}
        if xml_formats:
            opml_files["all"] = OPML_FILES["all"]
            if topics:
                opml_files["topics"] = OPML_FILES["topics"]
            for v in self.variants:
                opml_files[f"rss.{v}"] = with_variant(OPML_FILES["rss"], v)          # the first XML format
        self.put("index.html", pages.index_page(
            chans[0], listed, recent, site_title=s.site.title,
            description=s.site.description, lang=s.site.language, zone=self.zone, url_of=self.url_of,
            formats=self.formats, opml_files=opml_files, topics=listed_topics, variants=self.variants))
        offered = pages.subscribable(chans, self.own())
        for fmt in xml_formats:
            self.put(OPML_FILES[fmt], pages.opml(chans, offered, title=s.site.title, label=self._feed_title,
                                                 url_of=self.url_of, fmt=fmt))
        if xml_formats:
            self.put(OPML_FILES["all"], pages.opml(chans, [chans[0]], title=s.site.title, label=self._feed_title,
                                                   url_of=self.url_of, fmt=xml_formats[0]))
            for v in self.variants:       # the reader's OPML again, in each script variant
                self.put(opml_files[f"rss.{v}"], pages.opml(
                    chans, offered, title=convert_text(s.site.title, v), url_of=self.url_of, fmt=xml_formats[0],
                    variant=v,
                    label=lambda ch, v=v: convert_text(self._feed_title(ch), v)))
            if topics:        # filtered feeds overlap the categories: offered apart
                self.put(OPML_FILES["topics"], pages.opml(chans, topics, title=s.site.title, label=self._feed_title,
                                                          url_of=self.url_of, fmt=xml_formats[0]))

    def own(self) -> set[int]:
        """Categories with articles filed in them directly, read once per regeneration."""
        if self._own is None:
            self._own = self.store.with_own_articles()
        return self._own

    def _feed_title(self, ch: Channel) -> str:
        title = self.settings.site.title
        return f"{title}: {ch.display}" if ch.category_pk is not None else title

    # -- what every file depends on --------------------------------------------
    def _ttl(self) -> int | None:
        """Minutes between gathers of the most frequent source: what readers may poll at."""
        every = [src.every for src in self.settings.sources if src.every]
        return max(1, int(min(every) // 60)) if every else None

    def _config_fingerprint(self) -> str:
        """What every file depends on from the configuration and feedpub itself."""
        s = self.settings
        parts = [__version__, repr(s.site), repr(s.output), repr(s.websub), repr(s.categories), repr(s.feeds),
                 str(self._ttl())]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def _fingerprint(self, config: str) -> str:
        """... and from every category's name and place."""
        parts = [config] + [f"{c.key}|{c.path_label}|{c.folder}" for c in self.chans]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class Unwatched:
    """No one watches the progress (a display would: `feedpub build` on a terminal)."""

    def advance(self, kind: str, n: int = 1, total: int | None = None) -> None:
        pass


def current_items(unarchived: list, newest: list, max_items: int) -> list:
    """What a current feed holds: `max_items` items, newest first.

    Every item not yet on a closed archive page (fewer than a page: an old-
    dated article stored late may be among them), then the newest of the
    others: a walk from the current feed down `prev-archive` reaches every
    item, and the feed never holds more than `max_items`. Both lists are
    (item, categories), `newest` newest first.
    """
    rows = {item.id: (item, cats) for item, cats in unarchived}
    for item, cats in newest:
        if len(rows) >= max_items:
            break
        rows.setdefault(item.id, (item, cats))
    return newest_first(rows.values())


def _worker(settings: Settings, chans: list[Channel], url: str, authority: str, step: str,
            work: list, owner: int) -> tuple[list, int, int]:
    """`_Run._spread`'s share of work in a worker process: the files go back
    as temporary files for the calling process to publish with the rest."""
    store = Store(url, id_authority=authority)
    try:
        run = _Run(settings, store)
        run._use_channels(chans)
        with publish.Batch(run.out, limit=sys.maxsize, owner=owner) as run.batch:
            getattr(run, step)(work)
            return run.batch.hand_over(), run.result.written, run.result.unchanged, run.result.changed_feeds
    finally:
        store.close()
