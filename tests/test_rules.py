"""The rules of the product as pure functions: no store, no disk, no clock."""

from __future__ import annotations

from feedpub.regenerate import missing_archive_pages


def test_missing_archive_pages_are_every_closed_page_not_on_disk():
    on_disk = ["1.rss.xml", "1.atom.xml", "2.rss.xml", "3.rss.xml", "3.atom.xml", ".3.rss.xml.~x~.tmp"]
    assert missing_archive_pages(5, on_disk) == [5, 4, 2]           # 2 lacks its Atom twin
    assert missing_archive_pages(3, on_disk[:2] + on_disk[3:5]) == [2]   # one deleted by hand, mid-walk
    assert missing_archive_pages(0, []) == []
    assert missing_archive_pages(2, []) == [2, 1]
