"""The rules of the product as pure functions: no store, no disk, no clock."""

from __future__ import annotations

from dataclasses import replace

from feedpub.plan import Snapshot, folders_to_list, missing_archive_pages, plan
from feedpub.render.layout import Channel

ALL = Channel(None, "", (), "", None)
NEWS = Channel(1, "物流資訊", ("物流資訊",), "wu-liu-zi-xun", "")
PORTS = Channel(2, "物流資訊/港口航運", ("物流資訊", "港口航運"), "wu-liu-zi-xun/gang-kou-hang-yun", "wu-liu-zi-xun")
LAWS = Channel(3, "政策法規", ("政策法規",), "zheng-ce-fa-gui", "")
CHANNELS = (ALL, NEWS, PORTS, LAWS)


def on_disk(closed: dict) -> dict:
    """Every current feed file, and every closed archive page, present."""
    present = {}
    for ch in CHANNELS:
        present[ch.folder] = frozenset({"rss.xml", "atom.xml", "index.html"})
        pages = closed.get(ch.category_pk, 0)
        if pages:
            present[ch.archive("rss", 1).rpartition("/")[0]] = frozenset(
                f"{n}.{fmt}.xml" for n in range(1, pages + 1) for fmt in ("rss", "atom"))
    return present


def snapshot(**changes) -> Snapshot:
    closed = {None: 4, 1: 2, 2: 1, 3: 0}
    return replace(Snapshot(changed_categories=frozenset(), changed_articles=frozenset(), foreign_pending=False,
                            fingerprint="f1", published_fingerprint="f1", channels=CHANNELS, closed=closed,
                            has_items=True, formats=("rss", "atom"), variants=(), present=on_disk(closed)),
                   **changes)


def test_a_regeneration_with_nothing_changed_renders_nothing():
    assert plan(snapshot()).render is False


def test_a_changed_category_renders_it_and_the_all_feed_only():
    p = plan(snapshot(changed_categories=frozenset({"物流資訊/港口航運", "物流資訊"}), changed_articles=frozenset({9, 7})))
    assert p.render and not p.everything
    assert p.channels == (ALL, NEWS, PORTS) and p.article_pages == (7, 9) and p.archive_pages == ()
    assert p.index == CHANNELS


def test_everything_is_rendered_when_changes_are_unknown_or_another_run_died_or_the_layout_changed():
    for why in (dict(changed_categories=None), dict(changed_articles=None), dict(foreign_pending=True),
                dict(published_fingerprint="f0"), dict(published_fingerprint=None)):
        p = plan(snapshot(**why))
        assert p.everything and p.channels == CHANNELS and p.article_pages is None, why


def test_a_missing_current_feed_renders_everything():
    present = dict(snapshot().present)
    present[LAWS.folder] = frozenset({"rss.xml"})                          # atom.xml removed by hand
    assert plan(snapshot(present=present)).everything


def test_closed_archive_pages_missing_on_disk_are_written_and_only_those():
    present = dict(snapshot().present)
    present["archive"] = frozenset({"1.rss.xml", "1.atom.xml", "3.rss.xml", "3.atom.xml", "4.rss.xml"})
    p = plan(snapshot(present=present, changed_categories=None))
    assert p.archive_pages == ((ALL, 4), (ALL, 2))                        # 4 lacks Atom, 2 was deleted
    # a channel not rendered this time is not looked at
    p = plan(snapshot(present=present, changed_categories=frozenset({"政策法規"}), changed_articles=frozenset({1})))
    assert p.channels == (ALL, LAWS) and p.archive_pages == ((ALL, 4), (ALL, 2))


def test_an_empty_store_renders_the_all_feed_alone():
    p = plan(snapshot(has_items=False, changed_categories=None))
    assert p.channels == (ALL,) and p.index == (ALL,)


def test_the_plan_lists_each_channel_folder_and_the_archives_of_those_with_closed_pages():
    assert folders_to_list(CHANNELS, {None: 4, 1: 2, 2: 0}) == [
        "", "archive", "wu-liu-zi-xun", "wu-liu-zi-xun/archive", "wu-liu-zi-xun/gang-kou-hang-yun",
        "zheng-ce-fa-gui"]


def test_missing_archive_pages_are_every_closed_page_not_on_disk():
    on_disk = ["1.rss.xml", "1.atom.xml", "2.rss.xml", "3.rss.xml", "3.atom.xml", ".3.rss.xml.~x~.tmp"]
    assert missing_archive_pages(5, on_disk) == [5, 4, 2]           # 2 lacks its Atom twin
    assert missing_archive_pages(3, on_disk[:2] + on_disk[3:5]) == [2]   # one deleted by hand, mid-walk
    assert missing_archive_pages(0, []) == []
    assert missing_archive_pages(2, []) == [2, 1]


# -- identity ----------------------------------------------------------------------------------------

from datetime import datetime, timedelta, timezone  # noqa: E402

from feedpub.identity import RESERVED, Stored, free_slug, merge_times, mint  # noqa: E402
from feedpub.model import Article  # noqa: E402

T = datetime(2020, 6, 1, 14, 46, 13, tzinfo=timezone.utc)


def article(**kw) -> Article:
    values = dict(source="inbox", location="a.txt", key="text:abc", title="標題", body_html="", summary="",
                  published=T, updated=None, gathered_at=T + timedelta(days=1), date_raw="2020/6/1 22:46:13",
                  categories=(), content_hash="h")
    values.update(kw)
    return Article(**values)


def test_mint_gives_a_tag_uri_and_a_page_or_the_articles_own_url():
    m = mint(article(), now=T + timedelta(days=3), authority="news.example.com")
    assert m.id.startswith("tag:news.example.com,2020-06-01:") and len(m.id.rpartition(":")[2]) == 20
    assert m.page_path.startswith("articles/2020/06/") and m.page_path.endswith(".html")
    assert (m.published, m.updated) == (T, T)
    assert mint(article(key="x"), T, "a").id != m.id                      # another key, another id
    assert mint(article(), T, "a").page_path == mint(article(), T + timedelta(days=9), "a").page_path
    with_url = mint(article(url="https://news.example.com/a.html"), T, "news.example.com")
    assert (with_url.id, with_url.page_path) == ("https://news.example.com/a.html", None)
    given = mint(article(given_id="5/6"), T, "cms.example")
    assert given.id == "tag:cms.example,2020-06-01:5%2F6"
    assert mint(article(given_id="urn:uuid:1"), T, "x").id == "urn:uuid:1"


def test_an_undated_article_is_minted_at_the_time_it_was_first_seen():
    first_seen = T + timedelta(days=30)
    m = mint(article(published=None, date_raw=None), first_seen, "x")
    assert m.published == first_seen and m.id.startswith("tag:x,2020-07-01:")


def test_an_edit_keeps_the_time_while_the_written_date_is_the_same():
    stored = Stored(published=T, dated=True, date_raw="3小時前", updated=T)
    later = T + timedelta(hours=5)
    touched = article(published=later, date_raw="3小時前", gathered_at=later + timedelta(hours=3))
    assert merge_times(stored, touched)[0] == T                            # read again later: same time
    assert merge_times(stored, article(published=later, date_raw=" 3小時前 "))[0] == T
    redated = article(published=later, date_raw="2020/6/1 18:00")
    assert merge_times(stored, redated)[0] == later                        # its own date changed
    undated = Stored(published=T, dated=False, date_raw=None, updated=T)
    assert merge_times(undated, article(published=None, date_raw=None))[0] == T      # first seen, kept


def test_an_edit_is_updated_when_gathered_never_before_it_was():
    stored = Stored(published=T, dated=True, date_raw="2020/6/1 22:46:13", updated=T + timedelta(days=2))
    _, updated = merge_times(stored, article(gathered_at=T + timedelta(days=1)))
    assert updated == T + timedelta(days=2)                                # never goes back
    _, updated = merge_times(stored, article(gathered_at=T + timedelta(days=5)))
    assert updated == T + timedelta(days=5)
    _, updated = merge_times(stored, article(updated=T + timedelta(hours=1)))
    assert updated == T + timedelta(hours=1)                               # its own updated wins


def test_free_slugs_skip_taken_and_reserved_names():
    assert free_slug("wu-liu", set()) == "wu-liu"
    assert free_slug("wu-liu", {"wu-liu", "wu-liu-2"}) == "wu-liu-3"
    for name in RESERVED:
        assert free_slug(name, set()) == f"{name}-2"


# -- the scheduler's policy ------------------------------------------------------------------------

from feedpub.scheduler import dead_peers, gather_delay, held_files, rescan_due, retry_after  # noqa: E402


def test_a_failing_source_backs_off_doubling_up_to_an_hour():
    assert [retry_after(n, 300.0) for n in (1, 2, 3, 4, 5)] == [300, 600, 1200, 2400, 3600]
    assert retry_after(1, None) == 60.0 and retry_after(20, 30.0) == 3600


def test_the_survivors_clear_up_after_a_dead_publisher_of_this_host_only():
    assert dead_peers([7, 3, 5, 9], me=5, alive={5, 9}.__contains__) == [3, 7]
    assert dead_peers([5], me=5, alive=lambda pid: False) == []          # never itself
    assert dead_peers([], me=5, alive=lambda pid: False) == []


def test_a_burst_of_events_gathers_once_soon_and_never_too_late():
    assert gather_delay(now=10.0, first=10.0, debounce=0.25, max_delay=1.2) == 0.25
    assert gather_delay(now=11.0, first=10.0, debounce=0.5, max_delay=1.25) == 0.25    # the burst's deadline
    assert gather_delay(now=12.0, first=10.0, debounce=0.25, max_delay=1.2) == 0.0
    assert gather_delay(now=10.0, first=10.0, debounce=0.25, max_delay=1.2, at=13.0) == 3.0   # a held file


def test_a_watched_folder_is_scanned_whole_when_due_or_unwatched():
    assert rescan_due(now=5.0, rescan_at=0.0, watcher_alive=True)
    assert not rescan_due(now=5.0, rescan_at=600.0, watcher_alive=True)
    assert rescan_due(now=5.0, rescan_at=600.0, watcher_alive=False)


def test_open_files_are_held_until_closed_or_quiet():
    held, due = held_files({"a.txt": 100.0, "b.txt": 95.0, "c.txt": 80.0}, now=101.0, quiet=10.0)
    assert held == {"a.txt", "b.txt"} and due == 105.0
    assert held_files({}, now=1.0) == (set(), None)
