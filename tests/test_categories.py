"""Breadcrumbs -> category paths; script folding; slugs that cannot escape."""

from __future__ import annotations

import re

import pytest

from feedpub.identity import path_slugs, slug
from feedpub.normalize import categories


@pytest.mark.parametrize("crumb,title,levels", [
    ("首頁 > 物流資訊 > 行業新聞 > 5月物流景氣指數回升...", "5月物流景氣指數回升至53.2%", ["物流資訊", "行業新聞"]),
    ("首頁 >  物流資訊  >  行業(yè)新聞  > 標題", "標題", ["物流資訊", "行業新聞"]),
    ("首页 › 物流资讯 › 行业新闻 › 标题", "标题", ["物流资讯", "行业新闻"]),
    ("Home » 政策法規 » 國家政策", "另一個標題", ["政策法規", "國家政策"]),
    ("首頁>物流資訊>行業新聞>全國快遞業務量2月完成", "全國快遞業務量2月完成747億件", ["物流資訊", "行業新聞"]),
])
def test_breadcrumb_levels(crumb, title, levels):
    assert categories.levels_from_breadcrumb(crumb, title) == levels


def test_simplified_and_traditional_are_one_category():
    a, _ = categories.make_path(["物流資訊", "行業新聞"])
    b, _ = categories.make_path(["物流资讯", "行业新闻"])
    assert a.key == b.key
    assert a.levels != b.levels                      # each keeps the spelling it was written in
    assert path_slugs(a.key) == path_slugs(b.key) == ("wu-liu-zi-xun", "hang-ye-xin-wen")


@pytest.mark.parametrize("path", ["../../etc", "../..", "/etc/passwd", "..\\..\\windows", "a/./../b"])
def test_hostile_categories_are_names_not_paths(path):
    cat, warnings = categories.make_path(categories.levels_from_path(path))
    if cat is None:
        assert warnings
        return
    for s in path_slugs(cat.key):
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", s), s
    assert ".." not in cat.levels


def test_dot_levels_are_dropped_with_a_warning():
    cat, warnings = categories.make_path(categories.levels_from_path("../../etc"))
    assert cat.levels == ("etc",)
    assert warnings and "not a name" in warnings[0]


def test_slugs_are_lowercase_ascii():
    assert slug(categories.fold_level("政策法規")) == "zheng-ce-fa-gui"
    assert slug(categories.fold_level("Tech & Science")) == "tech-science"
    assert re.fullmatch(r"c-[0-9a-f]{8}", slug("😀"))
