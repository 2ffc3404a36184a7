"""Each item serialized once, its bytes spliced into every feed holding it:
the same bytes as feedgen writing the whole tree (issue 24), for ordinary
and hostile items, every optional field, current feeds and archive pages."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from dateutil import tz
from lxml import etree

from feedpub.model import Item
from feedpub.render import feeds
from feedpub.render.feeds import Entry, FeedInfo, SharedEntries

ZONE = tz.gettz("Asia/Shanghai")
T0 = datetime(2020, 6, 1, 14, 46, 13, tzinfo=timezone.utc)

TEXTS = ["港口吞吐量穩步回升", "a ]]> b & c < d > e \"f\" 'g'", "𝕏 astral 🙂 \U0001F600 and \u200f\u202eRTL\u202c marks",
         "line\u2028separator\u2029paragraph", "tab\there\nnewline", "&amp; already &lt;escaped&gt;", " spaced  out ",
         "<script>alert(1)</script>"]
BODIES = ["", "<p>段落一。</p><p>段落二 &amp; <a href=\"https://x.example/?a=1&amp;b=2\">鏈接</a>。</p>",
          "<p>]]&gt; in text</p><pre>  keep\n  lines  </pre>", "<p>" + "長文。" * 400 + "</p>"]


def items(n: int = 12) -> list[Entry]:
    out = []
    for i, (text, body) in enumerate(zip(itertools.cycle(TEXTS), itertools.cycle(BODIES))):
        if i == n:
            break
        item = Item(id=f"tag:news.example.com,2020:{i}" if i % 3 else f"https://news.example.com/a/{i}.html",
                    url=f"https://news.example.com/a/{i}.html", title=f"{text} {i}",
                    summary="" if i % 4 == 3 else f"摘要 {text}", body_html=body,
                    published=T0 - timedelta(hours=i), updated=T0 - timedelta(hours=i) + timedelta(minutes=i % 2 * 5),
                    author=None if i % 2 else f"作者{text}", source_name=None if i % 5 == 0 else "來源報")
        cats = () if i % 6 == 0 else ("物流資訊/行業新聞",) if i % 2 else ("物流資訊/行業新聞", "港口航運", "a & <b>")
        out.append(Entry(item, item.url, cats))
    return out


def info(**over) -> FeedInfo:
    base = dict(title="物流 & <港航>", description="新聞 ]]>", home="https://news.example.com/",
                urls={"rss": "https://news.example.com/feeds/rss.xml", "atom": "https://news.example.com/feeds/atom.xml",
                      "json": "https://news.example.com/feeds/feed.json"},
                language="zh-Hant", author="編輯部")
    base.update(over)
    return FeedInfo(**base)


INFOS = {
    "plain": info(),
    "everything": info(copyright="© 2020", icon="https://news.example.com/i.png", logo="https://news.example.com/l.png",
                       ttl=30, hubs=("https://hub.example.com/",), stylesheet="feed.xsl",
                       archive_links={"prev-archive": {"rss": "https://news.example.com/feeds/archive/1.rss.xml",
                                                       "atom": "https://news.example.com/feeds/archive/1.atom.xml"}},
                       email="news@example.com"),
    "archive page": info(archive=True, stylesheet="../feed.xsl",
                         archive_links={"current": {"rss": "https://news.example.com/feeds/rss.xml",
                                                    "atom": "https://news.example.com/feeds/atom.xml"}}),
    "summaries only": info(full_text=False, ttl=1440),
}


@pytest.mark.parametrize("name", list(INFOS))
@pytest.mark.parametrize("count", [0, 1, 12])
def test_spliced_feeds_are_feedgens_bytes(name, count):
    entries = items(count)
    whole = {"rss": feeds.rss(INFOS[name], entries, ZONE), "atom": feeds.atom(INFOS[name], entries, ZONE)}
    assert feeds.render_capped(["rss", "atom"], INFOS[name], entries, ZONE, 10 ** 9) == whole
    for fmt, data in whole.items():
        etree.fromstring(data)                                     # and well-formed, of course
        assert data.count(b"<item>" if fmt == "rss" else b"<entry>") == count


def test_entries_shared_across_feeds_keep_each_feeds_bytes():
    """One cache across a regeneration's feeds (archive pages of a category,
    its parent and the all-feed; current feeds beside archive pages): each
    feed's bytes are still what feedgen writes for it alone."""
    entries = items(12)
    for size, name, (lo, hi) in itertools.product((8, 1000), INFOS, [(0, 12), (3, 9), (0, 5), (6, 12), (0, 12)]):
        shared = shared if (lo, hi, name) != (0, 12, "plain") else SharedEntries(size)   # 8: entries fall out
        got = feeds.render_capped(["rss", "atom"], INFOS[name], entries[lo:hi], ZONE, 10 ** 9, shared=shared,
                                  keep_all=True)
        assert got == {"rss": feeds.rss(INFOS[name], entries[lo:hi], ZONE),
                       "atom": feeds.atom(INFOS[name], entries[lo:hi], ZONE)}, (name, lo, hi)


def test_a_feed_over_its_size_cap_is_feedgens_bytes_too():
    entries = items(12)
    capped = feeds.render_capped(["rss", "atom"], INFOS["plain"], entries, ZONE, 6000)
    for fmt, data in capped.items():
        assert len(data) <= 6000
        kept = data.count(b"<item>" if fmt == "rss" else b"<entry>")
        assert 0 < kept < 12
        trimmed = [e if len(e.item.body_html.encode()) <= 600 else
                   Entry(Item(**{**e.item.__dict__, "body_html": ""}), e.link, e.categories) for e in entries[:kept]]
        assert data == getattr(feeds, fmt)(INFOS["plain"], trimmed, ZONE)


def test_a_shared_entry_is_told_apart_by_its_link_categories_and_text():
    """The same item with other categories, another link (a script
    variant's page) or summary-only is other bytes, never the first's."""
    shared = SharedEntries()
    entries = items(6)
    moved = [Entry(e.item, e.link, ("另一/欄目",)) for e in entries]
    others = [Entry(e.item, e.link.replace(".html", ".zh-hans.html"), e.categories) for e in entries]
    for name, chosen in itertools.product(("plain", "everything", "summaries only"), (entries, moved, others, entries)):
        got = feeds.render_capped(["rss", "atom"], INFOS[name], chosen, ZONE, 10 ** 9, shared=shared)
        assert got == {"rss": feeds.rss(INFOS[name], chosen, ZONE), "atom": feeds.atom(INFOS[name], chosen, ZONE)}


def test_an_entry_built_without_feedgen_is_feedgens_element_for_any_item():
    """The fast path writes each entry's bytes without feedgen: for seeded
    random items over every field and text a scraper can bring (escapes,
    astral characters, RTL marks, empty fields, links equal to ids, dates in
    zones with odd offsets and DST, any year a store accepts) they are what
    feedgen's element serializes to, byte for byte, in both formats, with
    and without full text or an email."""
    import random
    rnd = random.Random(24)
    alphabet = list("港口 a&<>\"']]>\t\n\r/›#?=") + ["&amp;", "\u200f", "\u202e", "𝕏", "\U0001F600", "\u2028", "\x85", "\xa0"]

    def text(lo=0, hi=12):
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(lo, hi)))

    zones = [ZONE, timezone.utc, tz.gettz("America/New_York"), tz.gettz("Asia/Kathmandu"), timezone(timedelta(hours=-9, minutes=-30))]
    namespaces = {kind: etree.fromstring(getattr(feeds, kind)(INFOS["archive page"], items(1), ZONE)).nsmap
                  for kind in ("rss", "atom")}
    for n in range(1500):
        published = datetime(rnd.choice([1970, 1999, 2000, 2020, 2038, 2099]), rnd.randint(1, 12), rnd.randint(1, 28),
                             rnd.randint(0, 23), rnd.randint(0, 59), rnd.randint(0, 59), tzinfo=timezone.utc)
        link = f"https://news.example.com/{text(0, 5)}?a=1&b=2" if rnd.random() < 0.9 else ""
        item = Item(id=link if link and rnd.random() < 0.3 else f"tag:x,2020:{n}{text(0, 3)}", url=link or None,
                    title=text(1), summary=text() if rnd.random() < 0.7 else "",
                    body_html=f"<p>{text()}</p>" if rnd.random() < 0.7 else "",
                    published=published, updated=published + timedelta(seconds=rnd.choice([0, 1, 86400 * 400])),
                    author=text(1, 6) if rnd.random() < 0.4 else None,
                    source_name=text(1, 6) if rnd.random() < 0.5 else None)
        entry = Entry(item, link, tuple(text(0, 10) for _ in range(rnd.choice([0, 0, 1, 3]))))
        zone, full_text = rnd.choice(zones), rnd.random() < 0.7
        email = "news@example.com" if rnd.random() < 0.3 else None
        # the entry written as text is what libxml2 writes for feedgen's element, in each feed's namespaces
        feed_info = replace(rnd.choice(list(INFOS.values())), full_text=full_text, email=email)
        for kind, nsmap in namespaces.items():
            written = feeds._entry_text(entry, kind, nsmap, zone, full_text, email)
            assert written is not None and written == feeds._element_bytes(entry, kind, nsmap, zone, feed_info), entry
    # Text XML cannot carry is left to feedgen's element, which refuses it as it always did.
    bad = Entry(Item(**{**items(1)[0].item.__dict__, "title": "a\x0bb"}), "https://news.example.com/a", ())
    assert feeds._entry_text(bad, "rss", namespaces["rss"], ZONE, True, None) is None
    with pytest.raises(ValueError):
        feeds._entry_bytes(bad, "rss", namespaces["rss"], ZONE, INFOS["plain"])
