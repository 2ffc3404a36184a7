"""What subscribers get: the OPML they import, the HTML readers render, the
authors simpler parsers show, and promises that hold when files are touched,
titles hold separators, archives grow and links point out of the folder.

The OPML is imported by a real reader (lemon24/reader) over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from datetime import timedelta

import feedparser
import pytest
from lxml import etree
from lxml import html as lxml_html

from conftest import GATHERED, NOW, configure, dump, edit_config
from feedpub.normalize import categories
from feedpub.regenerate import current_items
from feedpub.serve import FeedServer

HYXW = "首頁 > 物流資訊 > 行業新聞"
GKHY = "首頁 > 物流資訊 > 港口航運"


def outlines(path):
    return [o for o in etree.parse(str(path)).iter("outline") if o.get("xmlUrl")]


def local(site, url):
    return site.out / url.removeprefix("https://news.example.com/feeds/")


# -- 1. the OPML a reader imports ---------------------------------------------------------------

def _newsroom(site):
    site.write("a.txt", dump(HYXW, "行業一", "2020/6/1 10:00:00", "來處"))
    site.write("b.txt", dump(HYXW, "行業二", "2020/6/2 10:00:00", "來處"))
    site.write("c.txt", dump(GKHY, "港口一", "2020/6/3 10:00:00", "來處"))
    site.write("d.txt", dump("首頁 > 政策法規", "政策直屬", "2020/6/4 10:00:00", "來處"))       # a parent's own article
    site.write("e.txt", dump("首頁 > 政策法規 > 國家政策", "國家一", "2020/6/5 10:00:00", "來處"))
    site.write("f.txt", dump("首頁 > 市場分析 > 冷鏈物流", "冷鏈一", "2020/6/6 10:00:00", "來處"))
    site.build()
    return {"行業一", "行業二", "港口一", "政策直屬", "國家一", "冷鏈一"}


@pytest.mark.parametrize("name,fmt", [("feeds.opml", "rss"), ("feeds-atom.opml", "atom")])
def test_the_opml_gives_each_article_once_in_one_format_under_unique_names(site, name, fmt):
    titles = _newsroom(site)
    entries = outlines(site.out / name)
    names = [o.get("text") for o in entries]
    assert len(names) == len(set(names))                                      # rss2email, feed2exec
    assert {o.get("xmlUrl").rpartition("/")[2] for o in entries} == {f"{fmt}.xml"}   # one format per channel
    seen = Counter(e.title for o in entries for e in feedparser.parse(local(site, o.get("xmlUrl")).read_bytes()).entries)
    assert seen == Counter(titles)                                             # each article exactly once
    # a category with articles of its own is offered whole; one without is a folder
    assert "物流資訊網: 政策法規" in names and "物流資訊網: 政策法規 › 國家政策" not in names
    assert "物流資訊網: 物流資訊" not in names and "物流資訊網: 物流資訊 › 行業新聞" in names


def test_everything_opml_holds_only_the_all_articles_feed(site):
    titles = _newsroom(site)
    (entry,) = outlines(site.out / "everything.opml")
    assert entry.get("xmlUrl") == "https://news.example.com/feeds/rss.xml"
    assert {e.title for e in feedparser.parse(local(site, entry.get("xmlUrl")).read_bytes()).entries} == titles


def test_a_category_opml_offers_its_subtree_once(site):
    _newsroom(site)
    entries = outlines(site.out / "wu-liu-zi-xun/feeds.opml")
    assert sorted(o.get("xmlUrl").rpartition("/feeds/")[2] for o in entries) == [
        "wu-liu-zi-xun/gang-kou-hang-yun/rss.xml", "wu-liu-zi-xun/hang-ye-xin-wen/rss.xml"]


def test_a_real_reader_importing_the_opml_sees_each_article_once(site, tmp_path):
    reader_lib = pytest.importorskip("reader")
    titles = _newsroom(site)
    server = FeedServer(site.out, ("127.0.0.1", 0)).start()
    try:
        port = server.address[1]
        edit_config(site, site={"feeds_url": f"http://127.0.0.1:{port}/"})
        site.build(full=True)
        r = reader_lib.make_reader(str(tmp_path / "reader.sqlite"))
        for o in outlines(site.out / "feeds.opml"):
            r.add_feed(o.get("xmlUrl"))
        r.update_feeds()
        assert all(f.last_exception is None for f in r.get_feeds())
        got = Counter(e.title for e in r.get_entries())
        assert got == Counter(titles)
        r.update_feeds()                                                       # a second poll: nothing new
        assert Counter(e.title for e in r.get_entries()) == got
        r.close()
    finally:
        server.stop()


# -- 4. the index: children under their own parent, words in the site's language ----------------

def test_the_index_lists_children_under_their_parent_in_the_sites_language(site):
    _newsroom(site)
    index = (site.out / "index.html").read_text()
    rows = re.findall(r'<tr><td>((?:&#160;)*)<a href="([^"]+)/index.html">', index)
    order = [(len(pad) // 24, folder) for pad, folder in rows]
    for i, (depth, folder) in enumerate(order):
        if depth == 1:                                                     # a child right below its parent
            parent = next(f for d, f in reversed(order[:i]) if d == 0)
            assert folder.startswith(parent + "/"), order
    assert "<th>栏目</th>" in index and "Category" not in index                # zh-CN: simplified Chinese


# -- 6. what readers render as HTML is sanitized HTML -------------------------------------------

HOSTILE = ('指數‹初值>與 A&B 公司 & 1 < 2 <img src=x onerror=alert(1)> '
           '<a href="javascript:alert(2)">點</a> <script>alert(3)</script>')


def _no_live_markup(fragment: str) -> str:
    doc = lxml_html.fragment_fromstring(fragment or "<p></p>", create_parent="div")
    for el in doc.iter():
        assert el.tag not in ("script", "img", "iframe", "object", "style"), fragment
        for attr, value in el.attrib.items():
            assert not attr.lower().startswith("on"), fragment
            assert "javascript:" not in value.lower(), fragment
    return doc.text_content()


@pytest.mark.parametrize("full_text", [True, False])
def test_every_field_a_reader_renders_as_html_holds_safe_html(site, full_text):
    configure(site, full_text=full_text)
    site.write("a.txt", dump(HYXW, "危險的正文", "2020/6/1 10:00:00", "來處", HOSTILE))
    site.build()
    folder = site.out / "wu-liu-zi-xun/hang-ye-xin-wen"
    rss = etree.parse(str(folder / "rss.xml"))
    item = rss.find("channel/item")
    text = _no_live_markup(item.findtext("description"))
    assert "指數‹初值>與 A&B 公司 & 1 < 2" in text and "<img src=x onerror=alert(1)>" in text   # shown as text
    fields = [item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")]
    atom = etree.parse(str(folder / "atom.xml"))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    for el in atom.iterfind("a:entry/a:content", ns) or ():
        assert el.get("type") == "html"
        fields.append(el.text)
    for el in atom.iterfind("a:entry/a:summary", ns):
        assert el.get("type") in (None, "text")                              # plain text, as Atom says
    js = json.loads((folder / "feed.json").read_bytes())["items"][0]
    fields.append(js.get("content_html"))
    for field in filter(None, fields):
        assert "指數‹初值>與 A&B 公司 & 1 < 2" in _no_live_markup(field)
    assert full_text == bool(js.get("content_html"))


# -- 7. Atom with the full text carries no truncated summary ------------------------------------

def test_atom_entries_with_content_carry_no_truncated_summary(site):
    site.write("a.txt", dump(HYXW, "長文", "2020/6/1 10:00:00", "來處", "很長的正文。" * 100))
    site.build()
    raw = (site.out / "atom.xml").read_text()
    assert "<content type=\"html\">" in raw and "<summary" not in raw
    configure(site, full_text=False)
    site.build(full=True)
    raw = (site.out / "atom.xml").read_text()
    assert "<content" not in raw and "<summary>很長的正文。" in raw


# -- 8. authors for simpler parsers -------------------------------------------------------------

def test_authors_in_every_format(site):
    site.write("a.txt", dump(HYXW, "有作者", "2020/6/1 10:00:00", "物流周報"))
    site.build()
    item = json.loads((site.out / "feed.json").read_bytes())["items"][0]
    assert item["author"] == {"name": "物流周報"} and item["authors"] == [{"name": "物流周報"}]
    for rel in ("rss.xml", "atom.xml"):
        assert site.feed(rel).entries[0].author == "物流周報"
    assert "<author>" not in (site.out / "rss.xml").read_text()              # RSS <author> must be an address
    edit_config(site, site={"email": "newsroom@example.com"})
    site.build(full=True)
    raw = (site.out / "rss.xml").read_text()
    assert "<author>newsroom@example.com (物流周報)</author>" in raw and "dc:creator" not in raw
    assert site.feed().entries[0].author_detail.name == "物流周報"


# -- 9. touching a file never re-dates it -------------------------------------------------------

def test_touching_an_article_with_a_relative_date_changes_nothing(site):
    site.write("a.txt", dump(HYXW, "相對時間", "3小時前", "來處"), mtime=GATHERED)
    site.build()
    before = site.snapshot()
    published = site.feed().entries[0].published
    os.utime(site.inbox / "a.txt", ((GATHERED + timedelta(hours=5)).timestamp(),) * 2)
    s2 = site.build(now=NOW + timedelta(hours=6))
    assert s2.files_read == 1 and s2.articles["updated"] == 0 and s2.written == 0
    assert site.snapshot() == before and site.feed().entries[0].published == published
    # an edit of the text keeps the time too; only another written date moves it
    site.write("a.txt", dump(HYXW, "相對時間", "3小時前", "來處", "改過的正文。"),
               mtime=GATHERED + timedelta(hours=7))
    s3 = site.build(now=NOW + timedelta(hours=8))
    assert s3.articles["updated"] == 1 and site.feed().entries[0].published == published
    site.write("a.txt", dump(HYXW, "相對時間", "2020/6/30 08:00:00", "來處", "改過的正文。"),
               mtime=GATHERED + timedelta(hours=9))
    site.build(now=NOW + timedelta(hours=10))
    assert site.feed().entries[0].published == "Tue, 30 Jun 2020 08:00:00 +0800"


# -- 10. the breadcrumb's tail is the title, however it is written ------------------------------

@pytest.mark.parametrize("crumb,title,levels", [
    ("首頁 > 物流資訊 > 港口航運 > 港航快訊<script>alert(1)</script>", "港航快訊<script>alert(1)</script>",
     ["物流資訊", "港口航運"]),
    ("首頁 > 物流資訊 > 港口航運 > 港航快訊<script>alert(…", "港航快訊<script>alert(1)</script>",
     ["物流資訊", "港口航運"]),
    ("首頁 > 物流資訊 > 行業新聞 > 南寧物流業3月運行平穩態勢\ufffd...", "南寧物流業3月運行平穩態勢良好",
     ["物流資訊", "行業新聞"]),
    ("首頁 > 物流資訊 > 行業新聞 > 南寧物流業3月運行平穩態勢良", "南寧物流業3月運行平穩態勢良好",
     ["物流資訊", "行業新聞"]),
    ("首頁 > 物流資訊 > 行業新聞 > 西部陆海新通道班列开行量大增", "西部陆海新通道班列开行数量同比增长",
     ["物流資訊", "行業新聞"]),                                          # edited since
    ("首頁 > 物流資訊 > 行業新聞 > 南寧物流業3月運行平穩", "【快訊】南寧物流業3月運行平穩",
     ["物流資訊", "行業新聞"]),
    ("首頁 > 物流資訊 > 行業新聞 > A > B", "A > B", ["物流資訊", "行業新聞"]),
    ("首頁 > 物流資訊 > 行業新聞", "行業新聞聯播：三月物流指數", ["物流資訊", "行業新聞"]),   # no title: all kept
    ("首頁 > 物流資訊 > 物流業", "物流業景氣指數回升", ["物流資訊", "物流業"]),
    ("首頁 > 新聞 > 正文", "某標題", ["新聞"]),                                      # the page, not a category
    ("首頁 > 新聞 > 某標題 > 詳情", "某標題", ["新聞"]),
    ("首頁 > 一 > 二 > 三 > 四 > 五 > 六 > 七 > 八 > 九 > 十 > 標題", "標題",
     ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]),
])
def test_the_breadcrumb_tail_that_resembles_the_title_is_no_category(crumb, title, levels):
    assert categories.levels_from_breadcrumb(crumb, title) == levels


def test_ten_levels_make_a_ten_level_category():
    path, warnings = categories.make_path([str(n) for n in range(10)])
    assert len(path.levels) == 10 and not warnings


def test_a_title_with_separators_makes_no_category_of_its_own(site):
    title = "港航快訊<script>alert(1)</script>"
    site.write("a.txt", f"當前位置: {GKHY} > {title}\n\n{title}\n\n2020/6/1 10:00:00\n\n正文。\n")
    site.build()
    folders = {p.parent.relative_to(site.out).as_posix() for p in site.out.rglob("rss.xml")}
    assert folders == {".", "wu-liu-zi-xun", "wu-liu-zi-xun/gang-kou-hang-yun"}


# -- 11-13. archives: the byte cap, links that resolve, the current feed's size ------------------

def test_archive_pages_obey_max_bytes_and_keep_every_item(site):
    configure(site, max_items=5, archive_page_size=5, max_bytes=60_000)
    for i in range(12):
        body = ("巨大的正文。" * 8000) if i == 2 else f"第{i}篇。"
        site.write(f"a{i:02d}.txt", dump(HYXW, f"文章{i:02d}", f"2020/6/{i + 1} 10:00:00", "來處", body))
    site.build()
    files = [p for p in site.out.rglob("*.xml")] + [p for p in site.out.rglob("*.json")]
    assert any("archive" in p.parts for p in files)
    for p in files:
        assert p.stat().st_size <= 60_000, p
    page = feedparser.parse((site.out / "archive/1.atom.xml").read_bytes())
    assert len(page.entries) == 5 and "文章02" in {e.title for e in page.entries}


def test_archive_links_point_only_at_pages_that_exist(site):
    configure(site, max_items=3, archive_page_size=3)
    for i in range(10):
        site.write(f"a{i:02d}.txt", dump(HYXW, f"文章{i:02d}", f"2020/6/{i + 1} 10:00:00", "來處"))
    site.build()
    for i in range(10, 14):                                     # later builds close more pages
        site.write(f"a{i:02d}.txt", dump(HYXW, f"文章{i:02d}", f"2020/6/{i + 1} 10:00:00", "來處"))
        site.build(now=NOW + timedelta(hours=i))
    for doc in site.out.rglob("*.xml"):
        for link in etree.parse(str(doc)).iter("{http://www.w3.org/2005/Atom}link"):
            href = link.get("href")
            if href.startswith("https://news.example.com/feeds/"):
                assert local(site, href).exists(), (doc, link.get("rel"), href)


class _It:
    def __init__(self, id, published):
        self.id, self.published = id, published


def test_the_current_feed_holds_max_items_and_every_unarchived_item():
    """Pure: the rule needs no store. A late old item takes its place in the
    current feed; the feed never grows past max_items."""
    newest = [(_It(f"n{i}", NOW - timedelta(days=i)), []) for i in range(5)]
    late = (_It("late", NOW - timedelta(days=400)), [])
    rows = current_items([late, newest[0]], newest, 5)
    assert [it.id for it, _ in rows] == ["n0", "n1", "n2", "n3", "late"]
    assert [it.id for it, _ in current_items([], newest, 3)] == ["n0", "n1", "n2"]


def test_a_late_old_item_is_reachable_and_the_current_feed_keeps_its_size(site):
    configure(site, max_items=4, archive_page_size=4)
    for i in range(10):
        site.write(f"a{i:02d}.txt", dump(HYXW, f"文章{i:02d}", f"2020/6/{i + 10} 10:00:00", "來處"))
    site.build()
    site.write("old.txt", dump(HYXW, "很舊的文章", "2019/1/1 10:00:00", "來處"))
    site.build(now=NOW + timedelta(hours=1))
    for rel in ("rss.xml", "atom.xml", "wu-liu-zi-xun/hang-ye-xin-wen/rss.xml"):
        entries = site.feed(rel).entries
        assert len(entries) == 4
        reached = {e.title for e in entries} | {
            e.title for p in (site.out / rel).parent.glob("archive/*.rss.xml")
            for e in feedparser.parse(p.read_bytes()).entries}
        assert len(reached) == 11, rel


# -- 14. no monitoring state in the published folder --------------------------------------------

def test_status_file_lives_beside_the_store(site):
    settings = site.settings()
    assert settings.store.status_file == site.root / "state" / "status.json"
    edit_config(site, store={"status_file": "feeds/status.json"})
    from feedpub import config
    with pytest.raises(config.ConfigError, match="status_file.*inside the output folder"):
        site.settings()


# -- 15. links out of a source folder are never read --------------------------------------------

def test_a_link_out_of_the_folder_is_reported_and_not_read(site, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("當前位置: 首頁 > 機密\n\n機密文件\n\n2020/6/1 10:00:00\n\nroot:x:0:0\n")
    (site.inbox / "leak.txt").symlink_to(secret)
    site.write("real.txt", dump(HYXW, "真的文章", "2020/6/2 10:00:00", "來處"))
    (site.inbox / "inside.txt").symlink_to(site.inbox / "real.txt")       # a link within the folder is fine
    summary = site.build()
    assert [p.location for p in summary.problems] == ["leak.txt"]
    assert "outside the folder" in summary.problems[0].reason
    published = b"".join(p.read_bytes() for p in site.out.rglob("*") if p.is_file())
    assert b"root:x:0:0" not in published and "機密".encode() not in published
    assert [e.title for e in site.feed().entries] == ["真的文章"]


def test_a_folder_linked_out_of_the_source_is_refused_even_when_named_by_a_watcher(site, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.txt").write_text(dump(HYXW, "外面的文章", "2020/6/1 10:00:00", "來處"), encoding="utf-8")
    (site.inbox / "sub").symlink_to(outside, target_is_directory=True)
    site.write("real.txt", dump(HYXW, "真的文章", "2020/6/2 10:00:00", "來處"))
    summary = site.build(only={"inbox": {"sub/x.txt", "real.txt"}})      # as watch events would name them
    assert [p.location for p in summary.problems] == ["sub/x.txt"]
    assert "outside the folder" in summary.problems[0].reason
    assert [e.title for e in site.feed().entries] == ["真的文章"]


def test_a_source_folder_that_is_itself_a_link_is_read(site, tmp_path):
    site.write("real.txt", dump(HYXW, "真的文章", "2020/6/2 10:00:00", "來處"))
    (tmp_path / "inbox-link").symlink_to(site.inbox, target_is_directory=True)
    edit_config(site, source={"path": "inbox-link"})
    summary = site.build()
    assert not summary.problems and [e.title for e in site.feed().entries] == ["真的文章"]
