"""Script variants of a feed: the same items in simplified or traditional
characters, for readers in Shanghai and in Taipei alike.

OpenCC converts phrase by phrase (`tw2sp`, `s2twp`, `s2hk`: 軟體/软件,
滑鼠/鼠标, not only character by character). Bodies keep their HTML: only
text nodes are converted, never tags, attributes or URLs. An article
already written in the variant's script is left exactly as it is. Same
items, same ids: a variant is another rendering, never another article.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from ..model import Item

PROFILES = {"zh-Hans": "tw2sp", "zh-CN": "tw2sp", "zh-Hant": "s2twp", "zh-TW": "s2twp", "zh-HK": "s2hk"}
SIMPLIFIED = {"zh-Hans", "zh-CN"}


@lru_cache(maxsize=8)
def _converter(profile: str):
    import opencc
    return opencc.OpenCC(profile)


@lru_cache(maxsize=20000)
def convert_text(text: str, variant: str) -> str:
    return _converter(PROFILES[variant]).convert(text) if text else text


@lru_cache(maxsize=8192)
def _script(text: str) -> str:
    """"s" simplified, "t" traditional, "" neither or both (no CJK, or mixed)."""
    simplified = _converter("t2s").convert(text) == text
    traditional = _converter("s2t").convert(text) == text
    return "" if simplified == traditional else ("s" if simplified else "t")


def written_in(item: Item, variant: str) -> bool:
    """Is the article already in the variant's script (so it stays as it is)?"""
    script = _script(item.title + "\n" + item.summary)
    return script == ("s" if variant in SIMPLIFIED else "t")


# A tag, its quoted attributes included (an attribute may hold a ">").
_TAG = re.compile(r"""(<(?:[^"'>]|"[^"]*"|'[^']*')*>)""")


def convert_html(markup: str, variant: str) -> str:
    """Text between tags converted; tags, attributes and URLs left byte for byte."""
    if not markup.strip():
        return markup
    parts = _TAG.split(markup)
    return "".join(part if n % 2 else convert_text(part, variant) for n, part in enumerate(parts))


def convert_item(item: Item, variant: str) -> Item:
    if written_in(item, variant):
        return item
    return replace(item, title=convert_text(item.title, variant), summary=convert_text(item.summary, variant),
                   body_html=convert_html(item.body_html, variant))
