"""The folder source on real files: each format, each encoding, temp files."""

from __future__ import annotations

import json

import pytest

from feedpub.sources.folder import FolderSource, SourceError
from conftest import dump


def read_all(site):
    src = FolderSource(site.settings().sources[0])
    out = {}
    for state in src.scan():
        try:
            out[state.location] = src.read(state)
        except SourceError as exc:
            out[state.location] = exc
    return out


def test_text_dump_fields_as_written(site):
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業(yè)新聞", "標題(yè)一", "2020/6/1 22:46:13", "物流周報", "段落一。", "段落二。"))
    [raw] = read_all(site)["a.txt"]
    assert raw.title == "標題(yè)一"                      # raw stays raw until normalize
    assert raw.date == "2020/6/1 22:46:13"
    assert raw.source_name == "物流周報"
    assert raw.breadcrumb.startswith("首頁 > 物流資訊 > 行業(yè)新聞")
    assert raw.body == "段落一。\n\n段落二。"
    assert raw.gathered_at.isoformat() == "2020-07-01T01:30:00+00:00"


def test_source_on_the_time_line_and_missing_lines(site):
    site.write("same-line.txt", "當前位置: 首頁 > 甲 > 乙 > t\n\n 標題\n\n 2020/4/13 2:40:27    來源：港航觀察\n\n 正文\n")
    site.write("no-date.txt", "當前位置: 首頁 > 甲 > 乙 > t\n\n 標題\n\n 來源:互聯網\n\n 正文\n")
    site.write("no-source.txt", "當(dāng)前位置: 首頁 > 甲 > 乙 > t\n\n 標題\n\n 53分鐘前\n\n 正文\n")
    got = read_all(site)
    assert (got["same-line.txt"][0].date, got["same-line.txt"][0].source_name) == ("2020/4/13 2:40:27", "港航觀察")
    assert (got["no-date.txt"][0].date, got["no-date.txt"][0].source_name) == (None, "互聯網")
    assert (got["no-source.txt"][0].date, got["no-source.txt"][0].source_name) == ("53分鐘前", None)
    assert got["no-source.txt"][0].breadcrumb == "首頁 > 甲 > 乙 > t"


def test_markdown_front_matter(site):
    site.write("post.md", "---\ntitle: 標題\ndate: 2020-06-05 10:30\nupdated: 2020-06-06 08:00\n"
                          "categories: [政策法規/國家政策, 物流資訊]\nsource: 交通運輸部\nlink: https://x.example/a\n"
                          "author: 王明\nsummary: 摘要\nid: post-1\n---\n\n正文 **粗體**\n")
    [raw] = read_all(site)["post.md"]
    assert raw.date == "2020-06-05 10:30" and raw.updated == "2020-06-06 08:00"
    assert raw.categories == ("政策法規/國家政策", "物流資訊")
    assert (raw.source_name, raw.link, raw.author, raw.summary, raw.id) == \
        ("交通運輸部", "https://x.example/a", "王明", "摘要", "post-1")
    assert raw.body_format == "markdown" and "**粗體**" in raw.body


def test_json_object_and_list(site):
    site.write("one.json", json.dumps({"title": "單篇", "date": 1591022773, "category": "甲/乙", "body": "文字"}))
    site.write("many.json", json.dumps([{"id": "x1", "title": "一", "body": "<p>html</p>"},
                                        {"title": "二", "content_text": "純文字"}], ensure_ascii=False))
    got = read_all(site)
    [one] = got["one.json"]
    assert (one.title, one.date, one.categories, one.body_format) == ("單篇", "1591022773", ("甲/乙",), "text")
    a, b = got["many.json"]
    assert (a.location, a.body_format) == ("many.json#x1", "html")
    assert (b.location, b.body, b.body_format) == ("many.json#1", "純文字", "text")


def test_saved_html_page(site):
    page = """<html><head><meta charset="gbk"><link rel="canonical" href="https://news.example.com/a/1.html"></head>
    <body><div class="position">當前位置: <a href="/">首頁</a> &gt; 物流資訊 &gt; 港口航運 &gt; 標題</div>
    <h1>港口吞吐量創新高</h1><div class="info"><span class="time">2020-06-09 14:20</span>
    <span class="source">來源：港航觀察</span></div>
    <div class="content"><p>第一段。</p><script>alert(1)</script></div></body></html>"""
    site.write("page.html", page.encode("gbk"))
    [raw] = read_all(site)["page.html"]
    assert raw.title == "港口吞吐量創新高"
    assert raw.breadcrumb == "首頁 > 物流資訊 > 港口航運 > 標題"
    assert (raw.date, raw.source_name, raw.link) == ("2020-06-09 14:20", "港航觀察", "https://news.example.com/a/1.html")
    assert "第一段。" in raw.body and "alert" not in raw.body


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "big5", "utf-8-sig", "utf-16"])
def test_legacy_encodings_decode_without_mojibake(site, encoding):
    text = dump("首頁 > 物流資訊 > 港口航運", "寧波舟山港集裝箱吞吐量創歷史同期新高", "2020-06-10 16:00", "港航觀察",
                "寧波舟山港最新數據顯示，本月集裝箱吞吐量同比增長，港口方面表示將繼續優化航線布局。")
    site.write("legacy.txt", text.encode(encoding))
    [raw] = read_all(site)["legacy.txt"]
    assert raw.title == "寧波舟山港集裝箱吞吐量創歷史同期新高"
    assert raw.source_name == "港航觀察"


def test_crlf_and_bom(site):
    site.write("crlf.txt", "\ufeff" + dump("首頁 > 甲 > 乙", "標題", "2020/6/1 22:46:13", "來處").replace("\n", "\r\n"))
    [raw] = read_all(site)["crlf.txt"]
    assert (raw.title, raw.date, raw.source_name) == ("標題", "2020/6/1 22:46:13", "來處")


def test_an_undecodable_byte_costs_that_byte(site):
    good = dump("首頁 > 甲 > 乙", "標題完好無損", "2020/6/1 22:46:13", "來處", "正文正文正文正文正文正文正文正文。" * 5)
    data = good.encode("utf-8").replace("正文".encode(), b"\xff\xfe" + "正文".encode(), 1)
    site.write("broken.txt", data)
    [raw] = read_all(site)["broken.txt"]
    assert raw.title == "標題完好無損"
    assert "正文正文" in raw.body and "\ufffd" not in raw.body
    assert any("undecodable" in n for n in raw.notes)


def test_temp_and_hidden_files_are_not_read(site):
    for name in ("draft.txt.part", ".~lock.txt", "~$word.txt", ".hidden.txt", "x.txt.tmp", "notes.docx"):
        site.write(name, "標題")
    site.write(".git/HEAD.txt", "標題")
    site.write("real.txt", "標題")
    assert list(read_all(site)) == ["real.txt"]


def test_unreadable_files_raise_source_error(site):
    site.write("empty.txt", b"")
    site.write("bad.json", b"{not json")
    site.write("bad.md", "---\ntitle: [unclosed\n---\nbody")
    got = read_all(site)
    assert "empty" in str(got["empty.txt"])
    assert "not valid JSON" in str(got["bad.json"])
    assert "YAML" in str(got["bad.md"])


def test_the_fingerprint_walk_lists_what_the_scan_finds(site):
    """A build with changes takes the folder's files from the nothing-new
    check's walk instead of walking again: the same files, the same order."""
    import os
    from feedpub import unchanged
    for rel in ("a.txt", "b.md", "sub/deeper/c.json", "sub/d.html", "名 有 空格.txt", "x.TXT",
                "notes.pdf", "e.txt.part", "~$f.txt", ".hidden.txt", ".git/g.txt", "sub/.cache/h.txt", "noext"):
        site.write(rel, "x")
    (site.inbox / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"x")          # a name that is not UTF-8
    settings = site.settings()
    subject = unchanged.Subject.of(settings)
    listed = {}
    assert unchanged.inputs(subject, listed) is not None
    src = FolderSource(settings.sources[0])
    scanned = src.scan()
    assert src.listed(listed["inbox"]) == scanned
    assert [s.location for s in scanned] == ["a.txt", "b.md", "caf\\xe9.txt", "sub/d.html", "sub/deeper/c.json",
                                             "x.TXT", "名 有 空格.txt"]
    assert unchanged.inputs(subject) == unchanged.inputs(subject, {})   # keeping the walk changes no fingerprint
    (site.inbox / "link.txt").symlink_to(site.inbox / "a.txt")
    listed = {}
    assert unchanged.inputs(subject, listed) is None and listed == {}       # a link: the build scans itself


# Front matter as files write it, and forms only YAML may decide.
FRONTS = [
    'title: "成都快遞業務量創歷史新高16.7% 第0號"\ndate: 2019-04-15T08:43:51+08:00\n'
    'categories: ["物流資訊/行業新聞"]\nsource: 華東物流報',
    "title: 港口: 吞吐量\ndate: 2020/6/1 22:46:13", "title: 'It''s here'", 'title: "say \\"hi\\""',
    "title: a # comment", "title: a#b", "tags: [a, 'b c', \"d\", e f]", "tags: []", "tags: [a, ]", "tags: [a, [b]]",
    "title:", "title: ", "title: |\n  block", "title: >\n  folded", "title: x\n  more", "- a\n- b", "title: &a x\nb: *a",
    "title: \u3000全角空格開頭", "title: 結尾全角\u3000", "title: 不\u00a0換行", "title: 換\u2028行", "title: 換\x85行",
    "title: 控\x07制", "title:\tx", "title: x\r\ndate: y\r", "title: x\rdate: y", "title: %x", "title: @x", "title: `x`",
    "title: x\ntitle: y", "Title-2: x", "2title: x", "title: x:y", "title: x: y", "title: x:", "title: - x",
    "title: ? x", "title: !tag x", "title: {a: b}", "title: ...", "title: ---", "title: \"\"", "title: ''",
    "title: 'a\nb'", "title: \"a\n b\"", "title: 中文 英文 mixed  spaces  ",
]


@pytest.mark.parametrize("front", FRONTS)
def test_plain_front_matter_is_yamls_reading_or_leaves_it_to_yaml(front):
    """The plain reader of one-line fields answers only where its answer is
    YAML's (BaseLoader: strings and lists of strings); else YAML decides."""
    import yaml

    from feedpub.sources.formats import plain_front_matter
    plain = plain_front_matter(front)
    if plain is None:
        return
    assert plain == yaml.load(front, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader)), front


def test_plain_front_matter_reads_the_usual_forms():
    from feedpub.sources.formats import plain_front_matter
    assert plain_front_matter(FRONTS[0]) == {"title": "成都快遞業務量創歷史新高16.7% 第0號",
                                             "date": "2019-04-15T08:43:51+08:00",
                                             "categories": ["物流資訊/行業新聞"], "source": "華東物流報"}
    assert plain_front_matter("tags: [a, 'b c', \"d\", e f]") == {"tags": ["a", "b c", "d", "e f"]}
    for yaml_only in ("title: |\n  block", "title: a # comment", "title: &a x\nb: *a", "title: 換\u2028行",
                      'title: "say \\"hi\\""', "title: x: y", "tags: [a, [b]]"):
        assert plain_front_matter(yaml_only) is None, yaml_only
