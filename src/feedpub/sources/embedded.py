"""The data a page carries for its own script: the listing a page renders
from JSON it holds (Next.js `__NEXT_DATA__`, `window.__INITIAL_STATE__`
and the like, JSON-LD `ItemList`, any `<script type="application/json">`),
read without running the script. A `listing = "json"` start page may be
such a page: its items are then found in this data, by the same JMESPath
expressions as in a JSON endpoint's answer."""

from __future__ import annotations

import json
import re

from lxml import html as lxml_html

from . import jsontext

# `window.__INITIAL_STATE__ = {…};`, `window.__NUXT__=…`, `var __DATA__ = […]`
_ASSIGNED = re.compile(r"(?:window\.|var\s+|let\s+|const\s+)(__[A-Za-z0-9_]+__|[A-Za-z_$][\w$]*(?:State|Data|DATA|"
                       r"STATE))\s*=\s*(?=[\[{])")


def page_data(text: str):
    """The first data the page holds for its script, in the order above
    (None: none). Nesting is bounded as for any JSON (jsontext)."""
    try:
        doc = lxml_html.document_fromstring(text)
    except Exception:
        return None
    for script in doc.xpath("//script[@id='__NEXT_DATA__' or @id='__NUXT_DATA__']"):
        found = _loads(script.text)
        if found is not None:
            return found
    for script in doc.xpath("//script[not(@src)]"):
        source = script.text or ""
        for m in _ASSIGNED.finditer(source):
            found = _raw(source[m.end():])
            if found is not None:
                return found
    for script in doc.xpath("//script[@type='application/ld+json']"):
        found = _loads(script.text)
        for item in (found if isinstance(found, list) else [found]):
            if isinstance(item, dict) and item.get("@type") == "ItemList":
                return item
    for script in doc.xpath("//script[@type='application/json']"):
        found = _loads(script.text)
        if isinstance(found, (dict, list)):
            return found
    return None


def _loads(text: str | None):
    try:
        return jsontext.loads(text or "")
    except ValueError:
        return None


def _raw(text: str):
    """The JSON value at the start of `text` (a script's assignment), or None."""
    if jsontext.depth(text) > jsontext.MAX_DEPTH:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return None
    return value
