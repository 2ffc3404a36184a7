"""The selector syntax of `web` sources: CSS (lxml + cssselect) plus `@attr`.

`a@href` is the `href` of the first `a`; `h1` is its text. Alternatives are
separated by commas and tried in order: `a:contains('下一頁'), a.next@href`.
cssselect's `:contains()` matches text; soupsieve's spelling
`:-soup-contains()` is accepted too, since users copy selectors from
BeautifulSoup code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from cssselect import GenericTranslator
from cssselect import SelectorError as _CssError
from lxml import etree
from lxml import html as lxml_html


class SelectorError(ValueError):
    """A selector that cssselect cannot compile."""


@dataclass(frozen=True)
class Alternative:
    css: str
    attr: str | None
    compiled: etree.XPath


def _split(text: str) -> list[str]:
    """Split on commas outside quotes, parentheses and brackets."""
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


# cssselect's own translator: lxml's adds a lower-case() extension function
# for :contains() that lxml 6 fails to resolve.
_TRANSLATOR = GenericTranslator()


@lru_cache(maxsize=256)
def compile_selector(text: str) -> tuple[Alternative, ...]:
    alts = []
    for part in _split(text):
        m = re.fullmatch(r"(.*?)@([A-Za-z_:][-\w:.]*)", part)
        css, attr = (m.group(1).strip(), m.group(2)) if m else (part, None)
        css = css.replace(":-soup-contains(", ":contains(")
        if not css:
            raise SelectorError(f"{part!r}: no CSS before @{attr}")
        try:
            alts.append(Alternative(css, attr, etree.XPath(_TRANSLATOR.css_to_xpath(css))))
        except _CssError as exc:
            raise SelectorError(f"{part!r} is not a CSS selector cssselect understands: {exc}") from None
    if not alts:
        raise SelectorError("empty selector")
    return tuple(alts)


def text_of(el) -> str:
    """An element's visible text, whitespace folded."""
    return " ".join(el.text_content().split())


def matches(root, selector: str) -> list:
    """Every element the first matching alternative finds."""
    for alt in compile_selector(selector):
        found = alt.compiled(root)
        if found:
            return found
    return []


def value(root, selector: str | None) -> str | None:
    """The text (or @attr) of the first match of the first alternative that has one."""
    if not selector:
        return None
    for alt in compile_selector(selector):
        for el in alt.compiled(root):
            v = el.get(alt.attr) if alt.attr else text_of(el)
            if v is not None and v.strip():
                return v.strip()
    return None


def inner_html(root, selector: str | None) -> str | None:
    """The markup inside the first match (for article bodies)."""
    if not selector:
        return None
    for el in matches(root, selector):
        for bad in el.xpath(".//script|.//style|.//noscript"):
            bad.drop_tree()
        return (el.text or "") + "".join(lxml_html.tostring(c, encoding="unicode") for c in el)
    return None


@lru_cache(maxsize=256)
def compile_path(text: str):
    """A JMESPath expression (JSON listings: `data.list`, `title`, `url`)."""
    import jmespath
    from jmespath.exceptions import JMESPathError
    try:
        return jmespath.compile(text)
    except JMESPathError as exc:
        raise SelectorError(f"{text!r} is not a JMESPath expression: {str(exc).splitlines()[0]}") from None


def json_value(data, path: str) -> str | None:
    """What a JMESPath finds in one JSON item, as text (numbers as written)."""
    found = compile_path(path).search(data)
    if found is None or found == "" or isinstance(found, (dict, list)):
        return None
    if isinstance(found, bool):
        return None
    if isinstance(found, float) and found.is_integer():
        found = int(found)
    return str(found).strip() or None
