"""Article file formats -> fields as written (no date parsing, no cleaning).

Each parser takes decoded text and returns a list of field dicts with the
names of `RawArticle`. They find structure (which line is the title, where the
source line is) but leave every value as the file spells it: normalize decides
what it means, so a better normalizer can re-read the same raw strings.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import html as lxml_html



class FormatError(ValueError):
    """The file is not an article in the format its name promises."""


# Pinyin a converter may have left after any character of a label: 當(dāng)前位置.
_PY = r"(?:[(（][a-zA-Zü\u00e0-\u01dc]{1,7}[)）])?"


def _label(*words: str) -> str:
    return "|".join("".join(re.escape(c) + _PY for c in w) for w in words)


_CRUMB = re.compile(r"^\s*(?:" + _label("當前位置", "当前位置", "您的位置", "你的位置", "您現在的位置",
                                        "您现在的位置", "現在位置", "现在位置", "位置") + r")\s*[:：]\s*(.*)$")
_SOURCE = re.compile(r"(?:^|\s)(?:" + _label("來源", "来源", "出處", "出处") + r"|Source)\s*[:：]\s*(.*)$", re.I)
_AUTHOR = re.compile(r"^\s*(?:" + _label("作者", "記者", "记者") + r"|Author|By)\s*[:：]\s*(.*)$", re.I)
_DATEISH = re.compile(
    r"^\s*(?:(?:[發发][佈布表]|更新|出版)?(?:[時时][間间]|日期)\s*[:：]\s*)?"
    r"(?:\d{4}\s*[-/.年]|\d{1,2}\s*[-/月]\s*\d|\d+\s*(?:秒|分|小|個|个|天|日|周|週|星期|月|年)"
    r"|剛剛|刚刚|今天|今日|昨天|昨日|前天|just now|yesterday|today|\d+\s+\w+\s+ago"
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,|\d{1,2}\s+[A-Z][a-z]{2}\s+\d{4}|\d{9,13}\s*$)", re.I)


def crumb_text(text: str) -> str:
    """A breadcrumb's text without its "當前位置:" label."""
    text = " ".join(text.split())
    m = _CRUMB.match(text)
    return m.group(1) if m else text


# After a source's value on a byline: the next label (時間：, 點擊：, 作者：…) or a date.
_NEXT_FIELD = re.compile(r"\s+(?:[^\s:：]{1,6}\s*[:：]|\d{4}\s*[-/.年]\d)|[|｜]")


def source_text(text: str) -> str:
    """A source's value: without its "來源:" label, and without whatever
    follows it on the same byline (`來源：港口網 時間：… 點擊：`)."""
    text = " ".join(text.split())
    m = _SOURCE.search(text)
    value = m.group(1) if m else text
    end = _NEXT_FIELD.search(value)
    return (value[:end.start()] if end else value).strip()


def is_dateish(line: str) -> bool:
    """Could this short header line be a timestamp? (normalize decides.)"""
    return len(line) <= 60 and bool(_DATEISH.match(line))


def parse_text(text: str) -> list[dict[str, Any]]:
    """A scraped page: breadcrumb, title, time, 來源 line, then the body."""
    # Only real line ends split lines: str.splitlines() also splits on \x0b,
    # \x1c-\x1e and \x85, which scraped text carries as junk inside a title.
    lines = [ln.strip() for ln in re.split(r"\r\n|\r|\n", text)]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise FormatError("the file is empty")
    fields: dict[str, Any] = {}
    m = _CRUMB.match(lines[0])
    if m:
        fields["breadcrumb"] = m.group(1)
        lines = lines[1:]
        if not lines:
            raise FormatError("a breadcrumb but no title")
    fields["title"] = lines[0]
    rest = lines[1:]
    while rest and len(rest[0]) <= 80:
        line = rest[0]
        src = _SOURCE.search(line)
        if src and "source_name" not in fields:
            fields["source_name"] = src.group(1).strip() or None
            before = line[:src.start()].strip()
            if before and is_dateish(before) and "date" not in fields:
                fields["date"] = before
        elif "date" not in fields and is_dateish(line):
            fields["date"] = line
        elif "author" not in fields and (a := _AUTHOR.match(line)):
            fields["author"] = a.group(1).strip()
        else:
            break
        rest = rest[1:]
    fields["body"] = "\n\n".join(rest)
    fields["body_format"] = "text"
    return [fields]


def _entry_fields(d: dict[str, Any], where: str) -> dict[str, Any]:
    """Front matter or a JSON object -> RawArticle fields, values kept as strings."""
    def text(key: str) -> str | None:
        v = d.get(key)
        if v is None or v == "":
            return None
        if isinstance(v, (dict, list)):
            raise FormatError(f"{where}: '{key}' must be text, not {type(v).__name__}")
        return str(v)

    out: dict[str, Any] = {
        "title": text("title"),
        "date": text("date") or text("published"),
        "updated": text("updated"),
        "source_name": text("source") or text("source_name"),
        "link": text("link") or text("url"),
        "author": text("author"),
        "summary": text("summary"),
        "id": text("id"),
        "breadcrumb": text("breadcrumb"),
    }
    cats = d.get("categories", d.get("category"))
    if isinstance(cats, str):
        cats = [cats]
    if cats is not None:
        if not isinstance(cats, list) or not all(isinstance(c, (str, list)) for c in cats):
            raise FormatError(f"{where}: 'categories' must be a path 'a/b' or a list of them")
        out["categories"] = tuple("/".join(map(str, c)) if isinstance(c, list) else c for c in cats)
    return {k: v for k, v in out.items() if v is not None}


MAX_FRONT_MATTER = 64 * 1024


def _refuse_aliases(data) -> None:
    """YAML anchors and aliases make one node stand in many places: a few
    hundred bytes (a "billion laughs") expand to gigabytes once anything
    walks or prints them. An article's fields never need them: any node met
    twice is refused, before anything expands it."""
    seen: set[int] = set()
    todo = [data]
    while todo:
        node = todo.pop()
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                raise FormatError("front matter uses YAML aliases (*name), which article fields never need")
            seen.add(id(node))
            todo.extend(node.values() if isinstance(node, dict) else node)


# Front matter as most files write it, one `key: value` a line: read without
# YAML (a third of a file's parsing time) when every line is one of these
# unambiguous forms; anything else (nesting, comments, escapes, block scalars,
# a character YAML refuses) goes to YAML, so the result is always YAML's.
_KEY = r"[A-Za-z_][A-Za-z0-9_-]*"
_PLAIN = r"[^-?:,\[\]{}#&*!|>'\"%@`\s](?:[^:#]|:(?=\S)|(?<=\S)#)*?"   # a plain scalar, as BaseLoader reads it
_QUOTED = r'"[^"\\]*"' + r"|'[^']*'"
_ITEM = rf"(?:{_QUOTED}|[^-?:,\[\]{{}}#&*!|>'\"%@`\s][^,\[\]{{}}#:'\"]*?)"
_LINE = re.compile(rf"({_KEY}):[ ]+(?:({_QUOTED})|({_PLAIN})|\[[ ]*((?:{_ITEM}[ ]*,[ ]*)*{_ITEM})?[ ]*\])[ ]*")
_ITEMS = re.compile(rf"[ ]*({_ITEM})[ ]*(?:,|$)")
# Characters YAML refuses, or reads as line breaks (NEL, LS, PS): YAML decides.
_NOT_YAML_PRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def _unquoted(value: str) -> str:
    return value[1:-1] if value[:1] in "\"'" else value


def plain_front_matter(front: str) -> dict[str, Any] | None:
    """The front matter's fields, if every line is `key: value`,
    `key: "text"`, `key: 'text'` or `key: [a, "b"]` (what YAML's
    BaseLoader makes of them: strings, lists of strings); else None."""
    if _NOT_YAML_PRINTABLE.search(front) or "\t" in front:
        return None
    meta: dict[str, Any] = {}
    for line in front.split("\n"):
        line = line.removesuffix("\r")
        m = None if "\r" in line else _LINE.fullmatch(line)
        if m is None:
            return None
        key, quoted, plain, items = m.groups()
        if quoted is not None:
            meta[key] = quoted[1:-1]
        elif plain is not None:
            meta[key] = plain.rstrip(" ")
        else:
            meta[key] = [_unquoted(i.rstrip(" ")) for i in _ITEMS.findall(items or "")]
    return meta


def _yaml_front_matter(front: str):
    import yaml     # only for front matter the plain reader leaves to it: most files need none
    try:
        # BaseLoader keeps every scalar a string: dates stay as written.
        return yaml.load(front, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader)) or {}
    except yaml.YAMLError as exc:
        raise FormatError(f"front matter is not valid YAML: {str(exc).splitlines()[0]}") from None


def parse_markdown(text: str) -> list[dict[str, Any]]:
    """Markdown with YAML front matter between '---' lines."""
    meta: dict[str, Any] = {}
    body = text.lstrip("\ufeff")
    m = re.match(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", body, re.S)
    if m:
        front = m.group(1)
        if len(front) > MAX_FRONT_MATTER:
            raise FormatError(f"front matter is {len(front):,} characters, more than the {MAX_FRONT_MATTER:,} "
                              f"an article's fields need")
        meta = plain_front_matter(front)
        if meta is None:
            meta = _yaml_front_matter(front)
        if not isinstance(meta, dict):
            raise FormatError("front matter must be a mapping of fields")
        _refuse_aliases(meta)
        body = body[m.end():]
    fields = _entry_fields(meta, "front matter")
    if "title" not in fields:
        h = re.match(r"\s*#\s+(.+)\n?", body)
        if h:
            fields["title"] = h.group(1).strip()
            body = body[h.end():]
    fields["body"] = body
    fields["body_format"] = "markdown"
    return [fields]


def parse_json(text: str) -> list[dict[str, Any]]:
    """One article object, a list of them, or {"items": [...]}."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    records = data if isinstance(data, list) else [data]
    out = []
    for n, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise FormatError(f"item {n}: must be an object, not {type(rec).__name__}")
        fields = _entry_fields(rec, f"item {n}")
        if rec.get("content_html") or rec.get("body_html"):
            fields["body"], fields["body_format"] = str(rec.get("content_html") or rec.get("body_html")), "html"
        else:
            body = rec.get("body", rec.get("content", rec.get("content_text")))
            body = "" if body is None else str(body)
            fields["body"] = body
            fields["body_format"] = "html" if re.search(r"<(p|div|br|a|img|h\d|ul|ol|table|span)\b", body, re.I) \
                else "text"
        out.append(fields)
    return out


_CLASS = "contains(concat(' ', normalize-space(@class), ' ', @id, ' '), '{}')"


def _first(doc, xpaths: list[str]):
    for xp in xpaths:
        found = doc.xpath(xp)
        if found:
            return found[0]
    return None


def parse_html(text: str) -> list[dict[str, Any]]:
    """A saved article page: breadcrumb, h1, time, source, content block."""
    try:
        doc = lxml_html.document_fromstring(text)
    except (ValueError, lxml_html.etree.ParserError) as exc:
        raise FormatError(f"not readable HTML: {exc}") from None
    for bad in doc.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    h1 = _first(doc, ["//h1"])
    if h1 is None:
        # No visible structure: read it as the text dump it looks like.
        return parse_text("\n".join(t.strip() for t in doc.xpath("//body//text()") if t.strip()))
    fields: dict[str, Any] = {"title": h1.text_content().strip()}
    canon = _first(doc, ["//link[@rel='canonical']/@href", "//meta[@property='og:url']/@content"])
    if canon:
        fields["link"] = str(canon).strip()
    crumb = _first(doc, ["//*[" + " or ".join(_CLASS.format(c) for c in ("position", "breadcrumb", "crumb",
                                                                            "location")) + "]"])
    if crumb is not None:
        fields["breadcrumb"] = crumb_text(crumb.text_content())
    time_el = _first(doc, ["//time", "//*[" + " or ".join(_CLASS.format(c) for c in (" time ", " date ",
                                                                                     "pubdate", "publish")) + "]"])
    if time_el is not None:
        fields["date"] = (time_el.get("datetime") or time_el.text_content()).strip()
    src_el = _first(doc, ["//*[" + _CLASS.format(" source ") + "]"])
    if src_el is not None:
        fields["source_name"] = source_text(src_el.text_content()) or None
    body = _first(doc, ["//article", "//*[" + " or ".join(_CLASS.format(c) for c in (" content ", " article ",
                                                                                     "article-body", " text ",
                                                                                     "detail")) + "]"])
    if body is None:
        paragraphs = doc.xpath("//p")
        html = "".join(lxml_html.tostring(p, encoding="unicode") for p in paragraphs)
    else:
        html = (body.text or "") + "".join(lxml_html.tostring(c, encoding="unicode") for c in body)
    if "date" not in fields or "source_name" not in fields:
        # Header lines as text right after the title, as in the text dumps.
        after = [t.strip() for t in h1.xpath("following::text()")[:8] if t.strip()]
        for line in after:
            s = _SOURCE.search(line)
            if s and "source_name" not in fields:
                fields["source_name"] = s.group(1).strip() or None
                line = line[:s.start()].strip()
            if line and is_dateish(line) and "date" not in fields:
                fields["date"] = line
    fields["body"] = html
    fields["body_format"] = "html"
    return [fields]


PARSERS = {".txt": parse_text, ".text": parse_text, ".md": parse_markdown, ".markdown": parse_markdown,
           ".json": parse_json, ".html": parse_html, ".htm": parse_html}
