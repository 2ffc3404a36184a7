"""Text as scraped -> text a feed can carry and a reader can show.

Three jobs, in this order: remove what converters and scrapers leave behind
(pinyin annotations, control characters, ragged whitespace), make body HTML
safe (nh3: no script, no event handlers, no javascript: links), and fold text
into the comparison keys that decide identity.
"""

from __future__ import annotations

import html
import re
import unicodedata

import nh3
from lxml import html as lxml_html
from markdown_it_pyrs import MarkdownIt

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_TONES = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_LETTERS = "a-zü" + _TONES
# A pinyin syllable with at least one tone mark, in ASCII or full-width
# parentheses, right after a CJK character: 行業(yè) -> 行業. Real parentheses
# ((記者 王明), (2020), (B型)) have no tone-marked syllable and stay.
PINYIN = re.compile(
    r"(?<=[" + CJK + r"])[(（](?=[" + _LETTERS + r"]*[" + _TONES + r"])[" + _LETTERS + r"]{1,7}[)）]", re.I)
# Characters XML 1.0 forbids, C1 controls, noncharacters and lone surrogates.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufdd0-\ufdef\ufffe\uffff\ud800-\udfff]")
_SPACE = re.compile(r"\s+")
# Full-width ASCII and the ideographic space: NFKC maps each to one ASCII
# character. Mapping them first gives the same NFKC result, and leaves typical
# Chinese text already normalized, which NFKC then only checks (6x faster).
_WIDE = {chr(cp): unicodedata.normalize("NFKC", chr(cp)) for cp in [*range(0xFF01, 0xFF5F), 0x3000]}
_WIDE_CHAR = re.compile("[\uff01-\uff5e\u3000]")


# CommonMark + tables, raw HTML kept (nh3 decides what of it stays).
# markdown-it-pyrs: the Rust port of markdown-it, the same HTML as
# markdown-it-py, 7x faster. (cmarkgfm was faster still, but leaks every
# document's tree and output string: no good for a long-running publisher.)
_markdown = MarkdownIt("commonmark").enable("table").render

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl", "dt", "em",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "time", "tr", "u", "ul",
}
ALLOWED_ATTRS = {
    "a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"}, "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"}, "time": {"datetime"}, "q": {"cite"}, "blockquote": {"cite"},
    "abbr": {"title"},
}

# Built once: nh3.clean turns its sets into ammonia's on every call (a third of its time on an article).
_CLEANER = nh3.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRS, url_schemes={"http", "https", "mailto"},
                       link_rel="noopener noreferrer", strip_comments=True)


def strip_pinyin(s: str) -> str:
    if "(" not in s and "（" not in s:        # no parenthesis, no annotation: skip the regex scan
        return s
    return PINYIN.sub("", s)


def drop_illegal(s: str) -> str:
    """Remove what XML 1.0 cannot carry (feedgen would fail on it at render)."""
    return _ILLEGAL.sub("", s)


def clean_line(s: str | None) -> str:
    """A title, name or label: no pinyin, no controls, single spaces, NFC."""
    if not s:
        return ""
    s = unicodedata.normalize("NFC", drop_illegal(s))
    return _SPACE.sub(" ", strip_pinyin(s)).strip()


def text_to_html(text: str) -> str:
    """Plain text -> <p> paragraphs: blank lines or single lines end one."""
    paragraphs = [clean_line(p) for p in re.split(r"\n", text)]
    return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs if p)


def sanitize_html(markup: str) -> str:
    """Untrusted HTML -> safe HTML with pinyin and controls removed."""
    markup = strip_pinyin(drop_illegal(unicodedata.normalize("NFC", markup)))
    return _CLEANER.clean(markup).strip()


def body_html(body: str | None, fmt: str, base: str | None = None) -> str:
    """Any body format -> sanitized HTML, links made absolute against `base`."""
    if not body:
        return ""
    if fmt == "markdown":
        html_ = sanitize_html(_markdown(drop_illegal(body)))
    elif fmt == "html":
        html_ = sanitize_html(body)
    else:
        return text_to_html(body)
    return absolute_links(html_, base) if base else html_


def absolute_links(markup: str, base: str) -> str:
    """Readers ignore xml:base too often: make every href and src absolute."""
    if not markup.strip() or ("href=" not in markup and "src=" not in markup):
        return markup
    frag = lxml_html.fragment_fromstring(markup, create_parent="div")
    frag.make_links_absolute(base, resolve_base_href=False)
    return (frag.text or "") + "".join(lxml_html.tostring(c, encoding="unicode") for c in frag)


def html_to_text(markup: str) -> str:
    """Visible text of (already safe) HTML, whitespace folded."""
    text = re.sub(r"<[^>]*>", " ", markup)
    return _SPACE.sub(" ", html.unescape(text)).strip()


def summarize(text: str, length: int) -> str:
    """At most `length` characters, cut on a character boundary, marked with …."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= length:
        return text
    cut = text[:length - 1].rstrip()
    return cut + "…"


def fold(s: str | None) -> str:
    """Comparison key: what differs only in width, case, whitespace or pinyin is equal."""
    if not s:
        return ""
    s = narrow(strip_pinyin(drop_illegal(s)))
    s = unicodedata.normalize("NFKC", s)
    return "".join(s.split()).casefold()


def narrow(s: str) -> str:
    """Full-width ASCII and the ideographic space as their ASCII selves, nothing else folded.

    One `replace` per distinct wide character found: Chinese prose has its
    full-width commas every few words, and `str.translate` looks every
    character of a non-ASCII string up in its table (5x slower on an article)."""
    for wide in set(_WIDE_CHAR.findall(s)):
        s = s.replace(wide, _WIDE[wide])
    return s
