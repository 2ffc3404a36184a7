"""JSON from a page (a JSON listing, JSON-LD in an article), parsed only
when its nesting is within bounds: a page is not trusted to be shallow, and
200,000 nested `[` must be one page's problem, not a RecursionError."""

from __future__ import annotations

import json
import re

MAX_DEPTH = 64          # listings and JSON-LD nest a few levels; nothing real needs more

# A string (skipped whole: brackets inside it are text) or a bracket.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def depth(text: str, limit: int = MAX_DEPTH) -> int:
    """How deep `text` nests, counted up to `limit` + 1 (one pass, stops early)."""
    level = deepest = 0
    for m in _TOKEN.finditer(text):
        token = m.group()
        if token in "[{":
            level += 1
            if level > deepest:
                deepest = level
                if deepest > limit:
                    break
        elif token in "]}":
            level -= 1
    return deepest


def loads(text: str, limit: int = MAX_DEPTH):
    """json.loads, refusing (ValueError) what nests deeper than `limit`."""
    if depth(text, limit) > limit:
        raise ValueError(f"nested deeper than {limit} levels")
    return json.loads(text)
