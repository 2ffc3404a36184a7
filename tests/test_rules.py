"""The rules of the product as pure functions: no store, no disk, no clock."""

from __future__ import annotations

from feedpub.regenerate import missing_archive_pages


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
