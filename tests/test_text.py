"""Text clean-up: pinyin residue (and what must stay), controls, sanitizing, keys."""

from __future__ import annotations

import pytest

from feedpub.normalize import text

PINYIN = [
    ("行業(yè)新聞", "行業新聞"),
    ("當(dāng)前位置", "當前位置"),
    ("會(huì)議", "會議"),
    ("綠(lǜ)色貨運(yùn)", "綠色貨運"),
    ("行業（yè）新聞", "行業新聞"),              # full-width parentheses
    ("北辰跨境供應(yīng)鏈(liàn)與(yǔ)瑞豐", "北辰跨境供應鏈與瑞豐"),
]
KEEP = [
    "廣州物流業協會發布快遞進村發展報告(附全文)",
    "(記者 王明)",
    "中歐班列(成都)開行",
    "危險品(B型)運輸",
    "統計年鑑(2020)",
    "物流(logistics)行業",           # English in brackets: no tone marks, not pinyin
    "Beijing (dāng)",                # tone-marked, but not after a CJK character
    "行業(ye)新聞",                    # no tone mark: could be anything
]


@pytest.mark.parametrize("raw,clean", PINYIN)
def test_pinyin_removed(raw, clean):
    assert text.strip_pinyin(raw) == clean


@pytest.mark.parametrize("raw", KEEP)
def test_real_parentheses_stay(raw):
    assert text.strip_pinyin(raw) == raw


def test_clean_line_drops_controls_and_folds_whitespace():
    assert text.clean_line("  標題\x00\x0b 有\u3000 空格\t\n\x1f ") == "標題 有 空格"
    assert text.clean_line("a\ud800b\ufffec") == "abc"


def test_plain_text_becomes_escaped_paragraphs():
    html = text.body_html("第一段 <b>不是標籤</b>\n\n第二段 & 符號", "text")
    assert html == "<p>第一段 &lt;b&gt;不是標籤&lt;/b&gt;</p><p>第二段 &amp; 符號</p>"


HOSTILE = [
    '<p>ok</p><script>alert(1)</script>',
    '<p onclick="steal()">ok</p>',
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">ok</a>',
    '<a href="JaVaScRiPt:alert(1)">ok</a>',
    '<iframe src="https://evil.example/"></iframe><p>ok</p>',
    '<p style="background:url(javascript:alert(1))">ok</p>',
    '<svg><script>alert(1)</script></svg>',
]


@pytest.mark.parametrize("markup", HOSTILE)
def test_hostile_html_is_defused(markup):
    safe = text.body_html(markup, "html").lower()
    for bad in ("<script", "onclick", "onerror", "javascript:", "<iframe", "style="):
        assert bad not in safe


def test_markdown_renders_and_is_sanitized():
    html = text.body_html("**粗體** [鏈接](https://example.com/)\n\n<script>x()</script>", "markdown")
    assert "<strong>粗體</strong>" in html
    assert 'href="https://example.com/"' in html
    assert "<script" not in html


def test_summary_cuts_on_a_character_boundary():
    s = text.summarize("一二三四五六七八九十" * 3, 10)
    assert s == "一二三四五六七八九…" and len(s) == 10
    assert text.summarize("短", 10) == "短"


def test_fold_ignores_whitespace_width_case_and_pinyin():
    assert text.fold("行業(yè)新聞  ABC") == text.fold("行業新聞abc") == text.fold("行業新聞ＡＢＣ")


def test_fold_is_exactly_nfkc_of_the_cleaned_text():
    """fold maps full-width characters itself before NFKC (faster on Chinese
    text): its keys must stay those of plain NFKC, or every stored article's
    content hash would change. Random strings mixing full-width forms,
    combining marks, Hangul, compatibility ideographs and pinyin."""
    import random
    import unicodedata
    pool = [chr(c) for c in [*range(0x20, 0x80), *range(0xC0, 0x180), *range(0x300, 0x370), *range(0x3000, 0x3040),
                             *range(0xFF00, 0xFFF0), *range(0x4E00, 0x4E20), *range(0xF900, 0xF910),
                             *range(0x1100, 0x1176), *range(0xAC00, 0xAC08), *range(0x2460, 0x2470)]]
    pool += ["(yè)", "（háng）", "\u00a0", "\t"]
    rng = random.Random(5005)
    for _ in range(20000):
        s = "".join(rng.choice(pool) for _ in range(rng.randint(0, 16)))
        reference = unicodedata.normalize("NFKC", text.strip_pinyin(text.drop_illegal(s)))
        assert text.fold(s) == "".join(reference.split()).casefold(), repr(s)
    assert text.fold("運價，同比增長５８％！") == "運價,同比增長58%!"


def test_narrow_folds_exactly_the_full_width_ascii_and_the_ideographic_space():
    import unicodedata

    from feedpub.normalize.text import narrow
    wide = "".join(chr(cp) for cp in [*range(0xFF01, 0xFF5F), 0x3000])
    assert narrow(wide) == "".join(unicodedata.normalize("NFKC", c) for c in wide)
    kept = "港口ｶﾞ①㎏"              # half-width katakana, circled digits, units: not full-width ASCII, kept
    assert narrow(kept) == kept


def test_json_feed_text_is_json_dumps_exactly():
    """The JSON Feed writer's own indentation (strings by the C encoder)
    is byte for byte json.dumps(ensure_ascii=False, indent=1)."""
    import json

    from feedpub.render.feeds import indented_json
    hostile = ["", "\x00\x01\x1f\x7f", '"引號" \\ /', "\u2028\u2029", "𝕏🙂\U0010FFFF", "\u200f\u202e右到左",
               "]]>&<>", "\ud800"]
    value = {"version": "https://jsonfeed.org/version/1.1", "n": 0, "yes": True, "no": False, "none": None,
             "empty": {}, "list": [], "items": [{"id": s, "tags": [s, s], "authors": [{"name": s}], "x": {}}
                                                for s in hostile], "nested": [[[]], [{}], [1, -2, 3]]}
    assert indented_json(value) == json.dumps(value, ensure_ascii=False, indent=1)
    assert indented_json([]) == "[]" and indented_json({}) == "{}"
