"""End to end on real files: build, then read the feeds back as a reader would."""

from __future__ import annotations

import calendar
import os
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import sqlalchemy as sa
from lxml import etree

import pytest

from feedpub.build import open_store
from conftest import GATHERED, NOW, configure, dump, edit_config


@pytest.fixture
def site(any_site):
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_site

HYXW = "首頁 > 物流資訊 > 行業新聞"
GKHY = "首頁 > 物流資訊 > 港口航運"


def instant(struct) -> datetime:
    return datetime.fromtimestamp(calendar.timegm(struct), timezone.utc)


def by_title(feed):
    return {e.title: e for e in feed.entries}


def test_category_feeds_field_by_field(site):
    site.write("a.txt", dump(HYXW, "行業(yè)新聞標題一", "2020/6/1 22:46:13", "物流周報", "第一段。", "第二段。"))
    site.write("b.txt", dump(GKHY, "港口標題二", "2020-06-02T10:00:00+08:00", None, "港口正文。"))
    summary = site.build()
    assert summary.articles["new"] == 2 and summary.errors == 0

    rss = site.feed("wu-liu-zi-xun/hang-ye-xin-wen/rss.xml")
    atom = site.feed("wu-liu-zi-xun/hang-ye-xin-wen/atom.xml")
    assert rss.version == "rss20" and atom.version == "atom10"
    for feed in (rss, atom):
        assert feed.feed.title == "物流資訊網: 物流資訊 › 行業新聞"
        assert [e.title for e in feed.entries] == ["行業新聞標題一"]
        e = feed.entries[0]
        assert instant(e.published_parsed) == datetime(2020, 6, 1, 14, 46, 13, tzinfo=timezone.utc)
        assert e.link.startswith("https://news.example.com/feeds/articles/2020/06/")
        assert e.id.startswith("tag:news.example.com,2020-06-01:")
        assert e.author == "物流周報"
        assert [t.term for t in e.tags] == ["物流資訊/行業新聞"] or [t.term for t in e.tags] == ["物流資訊 › 行業新聞"]
        assert "<p>第一段。</p>" in e.content[0].value
        # RSS: the summary in <description>; Atom: no summary beside the full content
        assert e.summary.startswith("第一段。" if feed is rss else "<p>第一段。</p>")
    assert rss.entries[0].id == atom.entries[0].id
    # the time as written, with its zone, in each format's syntax
    raw_rss = (site.out / "wu-liu-zi-xun/hang-ye-xin-wen/rss.xml").read_text()
    raw_atom = (site.out / "wu-liu-zi-xun/hang-ye-xin-wen/atom.xml").read_text()
    assert "<pubDate>Mon, 01 Jun 2020 22:46:13 +0800</pubDate>" in raw_rss
    assert "<lastBuildDate>Mon, 01 Jun 2020 22:46:13 +0800</lastBuildDate>" in raw_rss
    assert "<published>2020-06-01T22:46:13+08:00</published>" in raw_atom
    assert "<updated>2020-06-01T22:46:13+08:00</updated>" in raw_atom
    self_links = [l.href for l in atom.feed.links if l.rel == "self"]
    assert self_links == ["https://news.example.com/feeds/wu-liu-zi-xun/hang-ye-xin-wen/atom.xml"]
    assert 'rel="self"' in raw_rss and "wu-liu-zi-xun/hang-ye-xin-wen/rss.xml" in raw_rss
    # the article page a click lands on exists, with the body
    page = site.out / urlsplit(rss.entries[0].link).path.removeprefix("/feeds/")
    assert "第二段。" in page.read_text()


def test_parent_and_all_feeds_newest_first_and_capped(site):
    for n in range(1, 6):
        crumb = HYXW if n % 2 else GKHY
        site.write(f"{n}.txt", dump(crumb, f"標題{n}", f"2020/6/{n} 10:00:00", "來處"))
    site.build()
    parent = site.feed("wu-liu-zi-xun/rss.xml")
    assert [e.title for e in parent.entries] == ["標題5", "標題4", "標題3", "標題2", "標題1"]
    assert [e.title for e in site.feed("atom.xml").entries] == ["標題5", "標題4", "標題3", "標題2", "標題1"]
    assert [e.title for e in site.feed("wu-liu-zi-xun/gang-kou-hang-yun/atom.xml").entries] == ["標題4", "標題2"]
    configure(site, max_items=2)
    site.build()
    assert [e.title for e in site.feed("rss.xml").entries] == ["標題5", "標題4"]


def test_rebuild_with_nothing_new_is_byte_identical_and_untouched(site):
    site.write("a.txt", dump(HYXW, "標題一", "2020/6/1 22:46:13", "來處"))
    site.write("b.txt", dump(GKHY, "無日期標題", None, "來處"))
    site.build()
    before = site.snapshot()
    assert "rss.xml" in before and "feeds.opml" in before and "index.html" in before
    later = NOW + timedelta(days=3)
    s2 = site.build(now=later)
    assert s2.written == 0 and s2.files_read == 0
    s3 = site.build(now=later, full=True)                      # even re-reading every file
    assert s3.written == 0 and s3.articles["unchanged"] == 2
    assert site.snapshot() == before                            # bytes and mtimes


def test_undated_item_keeps_the_time_first_seen(site):
    site.write("a.txt", dump(HYXW, "無日期", None, "來處"))
    site.build(now=NOW)
    e = site.feed().entries[0]
    assert instant(e.published_parsed) == NOW
    site.write("b.txt", dump(HYXW, "另一篇", "2020/6/1 10:00:00", "來處"))
    site.build(now=NOW + timedelta(days=10), full=True)
    e2 = by_title(site.feed())["無日期"]
    assert instant(e2.published_parsed) == NOW and e2.id == e.id


def test_ids_are_stable_across_runs_copies_and_fresh_stores(site):
    site.write("a.txt", dump(HYXW, "行業(yè)標題", "2020/6/1 22:46:13", "來處", "正文 一。"))
    site.build()
    first = site.feed().entries[0].id
    # the same article saved again: other whitespace, pinyin left in, another name
    site.write("a (1).txt", "\n\n" + dump(HYXW, "行業標題 ", "2020/6/1  22:46:13", "來處", "正文   一。") + "\n\n")
    s = site.build()
    assert s.articles == {"unchanged": 1}
    entries = site.feed().entries
    assert [e.id for e in entries] == [first]
    # a user who deletes the store gets the same ids for dated articles
    if "sqlite" in site.config_path.read_text():
        (site.root / "state" / "feedpub.db").unlink()
    else:
        from sqlalchemy import create_engine, text
        engine = create_engine(site.settings().store.url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    site.build()
    assert [e.id for e in site.feed().entries] == [first]


def test_an_edit_updates_the_item_without_a_new_id(site):
    path = site.write("a.txt", dump(HYXW, "標題", "2020/6/1 22:46:13", "來處", "舊正文。"))
    site.build()
    old = site.feed("atom.xml").entries[0]
    edited_at = datetime(2020, 7, 3, 8, 0, tzinfo=timezone.utc)
    site.write("a.txt", dump(HYXW, "標題(已更正)", "2020/6/1 22:46:13", "來處", "新正文。"), mtime=edited_at)
    s = site.build()
    assert s.articles == {"updated": 1}
    new = site.feed("atom.xml").entries
    assert len(new) == 1
    assert new[0].id == old.id and new[0].title == "標題(已更正)"
    assert "新正文" in new[0].content[0].value
    assert instant(new[0].published_parsed) == instant(old.published_parsed)
    assert instant(new[0].updated_parsed) == edited_at
    assert path.exists()


def test_simplified_and_traditional_breadcrumbs_share_one_feed(site):
    site.write("t1.txt", dump("首頁 > 物流資訊 > 行業新聞", "繁體一", "2020/6/1 10:00:00", "來處"))
    site.write("t2.txt", dump("首頁 > 物流資訊 > 行業新聞", "繁體二", "2020/6/2 10:00:00", "來處"))
    site.write("s1.txt", dump("首页 > 物流资讯 > 行业新闻", "简体一", "2020/6/3 10:00:00", "来处"))
    site.build()
    feed = site.feed("wu-liu-zi-xun/hang-ye-xin-wen/rss.xml")
    assert {e.title for e in feed.entries} == {"繁體一", "繁體二", "简体一"}
    assert feed.feed.title.endswith("物流資訊 › 行業新聞")          # the spelling most articles use
    dirs = sorted(p.relative_to(site.out).as_posix() for p in site.out.rglob("rss.xml"))
    assert dirs == ["rss.xml", "wu-liu-zi-xun/hang-ye-xin-wen/rss.xml", "wu-liu-zi-xun/rss.xml"]


def test_configured_slug_and_title(site):
    edit_config(site, categories={"物流资讯/行业新闻": {"slug": "logistics/industry", "title": "業界新聞"}})
    site.write("a.txt", dump(HYXW, "標題", "2020/6/1 10:00:00", "來處"))
    site.build()
    assert site.feed("logistics/industry/atom.xml").feed.title == "物流資訊網: 物流資訊 › 業界新聞"


def test_colliding_slugs_are_resolved_and_kept(site):
    site.write("a.txt", dump("首頁 > 行業", "甲", "2020/6/1 10:00:00", "來處"))
    site.build()
    site.write("b.txt", dump("首頁 > 航業", "乙", "2020/6/2 10:00:00", "來處"))     # also hang-ye
    site.build()
    assert [e.title for e in site.feed("hang-ye/rss.xml").entries] == ["甲"]
    assert [e.title for e in site.feed("hang-ye-2/rss.xml").entries] == ["乙"]


def test_bad_input_costs_only_itself(site, caplog):
    site.write("good.txt", dump(HYXW, "好文章", "2020/6/1 10:00:00", "來處"))
    site.write("nul.txt", dump(HYXW, "控制\x00字元\x0b標題\x1f", "2020/6/2 10:00:00", "來\x07處", "正\x00文\x08。"))
    site.write("invalid-utf8.txt", dump(HYXW, "壞位元組標題", "2020/6/3 10:00:00", "來處").encode() + b"\xff\xfe\xfd")
    site.write("empty.txt", b"")
    site.write("huge.txt", dump(HYXW, "五百萬字節", "2020/6/4 10:00:00", "來處", "長" * (5 * 1024 * 1024 // 3)))
    site.write("script.html", "<html><body><div class=position>當前位置: 首頁 &gt; 物流資訊 &gt; 行業新聞</div>"
                              "<h1>惡意<script>alert(1)</script>頁面</h1><div class=content>"
                              "<p onclick=x()>文</p><img src=x onerror=alert(1)><a href='javascript:alert(1)'>l</a>"
                              "</div></body></html>")
    site.write("escape.md", "---\ntitle: 逃逸\ncategories: ../../etc\ndate: 2020-06-05\n---\n正文\n")
    site.write("absurd.txt", dump(HYXW, "荒謬日期", "2020/13/45 99:99", "來處"))
    site.write("future.txt", dump(HYXW, "未來日期", "2031-01-01 10:00", "來處"))
    site.write("notitle.json", '{"body": "只有正文"}')
    s = site.build()

    problems = {(p.location, p.severity): p.reason for p in s.problems}
    assert "empty" in problems[("empty.txt", "error")]
    assert "no title" in problems[("notitle.json", "error")]
    assert "impossible date" in problems[("absurd.txt", "warning")]
    assert "future" in problems[("future.txt", "warning")]
    assert "not a name" in problems[("escape.md", "warning")]
    assert "undecodable" in problems[("invalid-utf8.txt", "warning")]
    logged = caplog.text
    assert str(site.inbox / "empty.txt") in logged                  # the message names the file

    titles = {e.title for e in site.feed().entries}
    assert titles == {"好文章", "控制字元標題", "壞位元組標題", "五百萬字節", "惡意頁面", "逃逸", "荒謬日期", "未來日期"}
    # the hostile category stayed inside the output folder, as a name
    assert (site.out / "etc" / "rss.xml").exists()
    assert not (site.root / "etc").exists()
    # no script-like markup reaches a reader
    for path in site.out.rglob("*.xml"):
        raw = path.read_bytes()
        etree.fromstring(raw)                                     # well-formed XML
        for bad in (b"<script", b"onclick", b"onerror", b"javascript:"):
            assert bad not in raw.replace(b"&lt;", b"<").lower()
    # undated and impossible dates publish at the time first seen
    e = by_title(site.feed())["荒謬日期"]
    assert instant(e.published_parsed) == NOW
    # a broken file is retried next time, a good one is not re-read
    s2 = site.build()
    assert s2.files_read == 2 and {p.location for p in s2.problems} == {"empty.txt", "notitle.json"}


def test_opml_and_index_list_every_feed(site):
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    site.write("b.txt", dump(GKHY, "乙", "2020/6/2 10:00:00", "來處"))
    site.build()
    # feeds.opml: one RSS feed per category with articles of its own, nested by parent
    opml = etree.parse(str(site.out / "feeds.opml"))
    urls = sorted(o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl"))
    assert urls == ["https://news.example.com/feeds/wu-liu-zi-xun/gang-kou-hang-yun/rss.xml",
                    "https://news.example.com/feeds/wu-liu-zi-xun/hang-ye-xin-wen/rss.xml"]
    parent = [o for o in opml.iter("outline") if o.get("text") == "物流資訊" and not o.get("xmlUrl")][0]
    assert {c.get("text") for c in parent} == {"物流資訊網: 物流資訊 › 行業新聞", "物流資訊網: 物流資訊 › 港口航運"}
    atom = etree.parse(str(site.out / "feeds-atom.opml"))
    assert sorted(o.get("xmlUrl") for o in atom.iter("outline") if o.get("xmlUrl")) == \
        [u.replace("rss.xml", "atom.xml") for u in urls]
    everything = etree.parse(str(site.out / "everything.opml"))
    assert [o.get("xmlUrl") for o in everything.iter("outline")] == ["https://news.example.com/feeds/rss.xml"]
    index = (site.out / "index.html").read_text()
    assert 'rel="alternate" type="application/rss+xml"' in index
    for name in ("feeds.opml", "feeds-atom.opml", "everything.opml", "wu-liu-zi-xun/gang-kou-hang-yun/index.html"):
        assert f'href="{name}"' in index


def test_relative_dates_resolve_against_the_file_time(site):
    site.write("a.txt", dump(HYXW, "相對時間", "4小時前", "來處"), mtime=GATHERED)
    site.build()
    assert instant(site.feed().entries[0].published_parsed) == GATHERED - timedelta(hours=4)


def test_output_is_world_readable(site):
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    site.build()
    assert oct(os.stat(site.out / "rss.xml").st_mode & 0o777) == "0o644"


def test_a_new_article_rewrites_only_the_feeds_it_is_in(site):
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    site.write("b.txt", dump(GKHY, "乙", "2020/6/2 10:00:00", "來處"))
    site.write("c.txt", dump("首頁 > 政策法規 > 國家政策", "丙", "2020/6/3 10:00:00", "來處"))
    site.build()
    before = site.snapshot()
    site.write("d.txt", dump(GKHY, "丁", "2020/6/4 10:00:00", "來處"))
    s = site.build()
    assert s.files_read == 1 and s.articles == {"new": 1}
    after = site.snapshot()
    changed = {k for k in after if before.get(k) != after[k]}
    feeds_changed = {k for k in changed if k.endswith(".xml")}
    assert feeds_changed == {"rss.xml", "atom.xml", "wu-liu-zi-xun/rss.xml", "wu-liu-zi-xun/atom.xml",
                             "wu-liu-zi-xun/gang-kou-hang-yun/rss.xml", "wu-liu-zi-xun/gang-kou-hang-yun/atom.xml"}
    assert len([k for k in changed if k.startswith("articles/")]) == 1


def test_a_deleted_output_folder_is_regenerated(site):
    import shutil
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    site.build()
    before = {k: v[0] for k, v in site.snapshot().items()}
    shutil.rmtree(site.out)
    site.build()
    assert {k: v[0] for k, v in site.snapshot().items()} == before


def test_a_changed_configuration_rerenders_everything(site):
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    site.build()
    edit_config(site, site={"title": "新站名"})
    s = site.build()
    assert s.files_read == 0 and s.written > 0
    assert site.feed("wu-liu-zi-xun/hang-ye-xin-wen/rss.xml").feed.title == "新站名: 物流資訊 › 行業新聞"


def test_category_counters_stay_equal_to_the_links_they_count(any_site):
    """counts() and spellings() read counters kept as links are written; after
    new articles, edits that move an item to another category or change how a
    level is spelled, they must equal a count over the links themselves."""
    site = any_site
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "甲", "2020/6/1 10:00:00", "來處"))
    site.write("b.txt", dump("首頁 > 物流资讯 > 行业新闻", "乙", "2020/6/1 11:00:00", "來處"))
    site.write("c.txt", dump("首頁 > 物流資訊 > 企業動態", "丙", "2020/6/1 12:00:00", "來處"))
    site.build()
    site.write("b.txt", dump("首頁 > 物流資訊 > 企業動態", "乙", "2020/6/1 11:00:00", "來處", "改了"),
               mtime=GATHERED + timedelta(hours=1))
    site.write("c.txt", dump("首頁 > 物流资讯 > 企业动态", "丙", "2020/6/1 12:00:00", "來處", "也改了"),
               mtime=GATHERED + timedelta(hours=1))
    site.build()
    store = open_store(site.settings())
    try:
        with store.engine.connect() as conn:
            links = conn.execute(sa.text(
                "SELECT category_pk, spelling, count(*) FROM article_categories GROUP BY category_pk, spelling"
            )).all()
        expected: dict[int, list] = {}
        for pk, spelling, n in sorted(links):
            expected.setdefault(pk, []).append((spelling, n))
        assert store.spellings() == expected
        assert store.counts() == {pk: sum(n for _, n in v) for pk, v in expected.items()}
        names = {c.key: c.pk for c in store.categories()}
        counts = store.counts()
        assert (counts[names["物流资讯"]], counts[names["物流资讯/行业新闻"]], counts[names["物流资讯/企业动态"]]) \
            == (3, 1, 2)
        assert dict(store.spellings()[names["物流资讯/企业动态"]]) == {"企業動態": 1, "企业动态": 1}
    finally:
        store.close()


def test_many_files_are_parsed_on_every_core_with_the_same_result(tmp_path, monkeypatch):
    """Above PARALLEL_MIN files, parsing runs in worker processes; what is
    published, and what is reported about bad files, must not change."""
    from feedpub import build as build_module
    from conftest import make_site
    outputs = {}
    for mode, minimum in (("parallel", 10), ("serial", 10**9)):
        monkeypatch.setattr(build_module, "PARALLEL_MIN", minimum)
        (tmp_path / mode).mkdir()
        site = make_site(tmp_path / mode)
        for n in range(60):
            site.write(f"d{n % 3}/{n:03d}.txt", dump(HYXW, f"文章{n:03d}", f"2020/6/1 10:{n:02d}:00", "來處"))
        site.write("bad/empty.txt", "")
        site.write("bad/broken.json", "{not json")
        s = site.build()
        assert s.articles["new"] == 60 and s.files_read == 62
        outputs[mode] = (sorted((p.location, p.reason) for p in s.problems),
                         {rel: data for rel, (data, _) in site.snapshot().items() if rel.endswith(".xml")})
    assert outputs["parallel"][0] == outputs["serial"][0] and len(outputs["parallel"][0]) == 2
    assert outputs["parallel"][1] == outputs["serial"][1]


_PARENT = os.getpid()


from feedpub.build import _read_chunk as _READ_CHUNK  # noqa: E402  (the real one, before a test patches it)


def _dies_in_a_worker(settings, now, source_settings, states):
    """_read_chunk, except that the worker handed file 013 exits on the spot."""
    if os.getpid() != _PARENT and any(s.location.endswith("013.txt") for s in states):
        os._exit(9)
    return _READ_CHUNK(settings, now, source_settings, states)


def test_a_parsing_worker_that_dies_costs_no_article(tmp_path, monkeypatch):
    """A worker killed mid-gather (out of memory, a signal): the rest is read
    in the main process and every article still publishes."""
    from feedpub import build as build_module
    from conftest import make_site
    monkeypatch.setattr(build_module, "PARALLEL_MIN", 10)
    monkeypatch.setattr(build_module, "CHUNK", 5)
    monkeypatch.setattr(build_module, "_read_chunk", _dies_in_a_worker)
    site = make_site(tmp_path)
    for n in range(40):
        site.write(f"{n:03d}.txt", dump(HYXW, f"文章{n:03d}", f"2020/6/1 10:{n:02d}:00", "來處"))
    s = site.build()
    assert s.articles["new"] == 40 and s.files_read == 40 and not s.problems
    assert len(site.feed("rss.xml").entries) == 40
