"""A site's categories, read from the navigation of one of its pages.

Portals name their categories in menus: a top bar of sections, each with a
dropdown of subsections (its parent a link to a section page, or only a
<button> or a label that opens it), and, on the home page, boxes of latest
articles with a "more" link to their category's listing. This reads those
into (menu path, URL) pairs, `港航/港口动态` for the subsection 港口动态 under
港航, in the order the site shows them. Which of them are listings of
articles is for `suggest` to find out by reading each one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from .select import text_of

_NAV = ("//nav | //*[contains(concat(' ', normalize-space(@class), ' '), ' nav') or "
        "contains(@class, 'menu') or contains(@id, 'nav') or contains(@id, 'menu')]")
_FOOTER = re.compile(r"foot|copyright|bottom", re.I)
_MORE = re.compile(r"^\s*(?:更多|more|查看更多|more\s*»|»|>>|›)", re.I)
_LABEL_TAGS = {"a", "button", "span", "strong", "em", "b", "div", "p", "h2", "h3", "h4"}


@dataclass(frozen=True)
class Entry:
    """A page the site's navigation offers: where it sits in the menu, and
    whether the menu has more under it (a section with subsections)."""

    path: tuple[str, ...]
    url: str
    section: bool = False
    more: bool = False                    # found by a "more" link of a box, not in a menu


def _own_label(li) -> tuple[str | None, str | None]:
    """The label of a menu item and its link, from the item itself (not
    from the list nested in it): its first link, button or text element."""
    for child in li:
        if not isinstance(child.tag, str) or child.tag in ("ul", "ol"):
            continue
        if child.tag not in _LABEL_TAGS:
            continue
        if child.tag != "a" and child.find(".//ul") is not None:
            continue                                      # a wrapper of the nested list
        anchor = child if child.tag == "a" else child.find(".//a")
        label = text_of(child)
        if label:
            return label, anchor.get("href") if anchor is not None else None
    text = (li.text or "").strip()
    return (text or None), None


def _usable(href: str | None, base: str) -> str | None:
    """An absolute URL of this site for a menu link (None: a script, an
    anchor, the home page itself, another site)."""
    if not href or href.strip().lower().startswith(("javascript:", "#", "mailto:", "tel:")):
        return None
    url = urljoin(base, href.strip()).split("#")[0]
    parts, home = urlsplit(url), urlsplit(base)
    if parts.netloc != home.netloc or parts.scheme not in ("http", "https"):
        return None
    if parts.path in ("", "/") and not parts.query:
        return None
    return url


def _walk(items, path: tuple[str, ...], base: str, out: list[Entry]) -> None:
    for li in items:
        label, href = _own_label(li)
        if not label:
            continue
        nested = [ul for ul in li.iter("ul", "ol") if ul is not li and _depth_below(ul, li) == 1]
        here = path + (label,)
        url = _usable(href, base)
        if url:
            out.append(Entry(here, url, section=bool(nested)))
        for ul in nested:
            _walk([c for c in ul if c.tag == "li"], here, base, out)


def _depth_below(ul, li) -> int:
    """How many lists lie between `li` and its descendant `ul` (1: directly nested)."""
    n, el = 1, ul.getparent()
    while el is not None and el is not li:
        if el.tag in ("ul", "ol"):
            n += 1
        el = el.getparent()
    return n


def _in_footer(el) -> bool:
    while el is not None:
        if _FOOTER.search((el.get("class") or "") + " " + (el.get("id") or "")) or el.tag == "footer":
            return True
        el = el.getparent()
    return False


def menu_entries(doc, base: str) -> list[Entry]:
    """Every page the page's navigation menus offer, each with its path in
    the menu, in the order they appear, once each (by URL)."""
    containers = [el for el in doc.xpath(_NAV) if not _in_footer(el)]
    outermost = [el for el in containers if not any(other is not el and el in other.iterdescendants()
                                                     for other in containers)]
    out: list[Entry] = []
    for nav in outermost:
        lists = [ul for ul in nav.iter("ul", "ol") if not any(p.tag in ("ul", "ol") for p in ul.iterancestors()
                                                            if nav in p.iterancestors() or p is nav)]
        if lists:
            for ul in lists:
                _walk([c for c in ul if c.tag == "li"], (), base, out)
        else:                                             # a bar of links, no lists
            for a in nav.iter("a"):
                url, label = _usable(a.get("href"), base), text_of(a)
                if url and label:
                    out.append(Entry((label,), url))
    seen, unique = set(), []
    for entry in out:
        if entry.url not in seen:
            seen.add(entry.url)
            unique.append(entry)
    return unique


def more_links(doc, base: str) -> list[Entry]:
    """The "more" links of a page's boxes of latest articles, each named by
    its box's heading."""
    out = []
    for a in doc.iter("a"):
        if not _MORE.match(text_of(a)) and "more" not in (a.get("class") or "").lower().split():
            continue
        url = _usable(a.get("href"), base)
        heading = _heading(a)
        if url and heading:
            out.append(Entry((heading,), url, more=True))
    return out


def _heading(a) -> str | None:
    """The heading of the box a "more" link sits in."""
    el = a.getparent()
    for _ in range(4):
        if el is None:
            return None
        for h in el.iter("h1", "h2", "h3", "h4", "strong"):
            text = text_of(h)
            if text and not _MORE.match(text) and len(text) <= 20:
                return text
        el = el.getparent()
    return None
