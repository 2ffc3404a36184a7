"""A portal whose categories each list their articles another way real
portals do (issue 23), under one home page with a menu: numbered pages
(`index_{n}.html`), WordPress archives (`/category/a/b/page/{n}/`), a query
parameter (`?page=N`), a "load more" button fetching HTML fragments, a
shell a script fills from a JSON endpoint, and data embedded in the page
(`__NEXT_DATA__`, `window.__INITIAL_STATE__`, JSON-LD `ItemList`).
Served by sitesrv from 127.0.0.1; every article page gives its exact time.

Each article: (category path, title, UTC instant).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import sitesrv

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2020, 7, 1, 1, 30, tzinfo=timezone.utc)
HTML = "text/html; charset=utf-8"
SIZE = 3                                           # items per listing page (or per JSON page)

# menu path -> (key, listing URL in the menu)
CATEGORIES = {
    "分页/数字分页": ("num", "/num/"),
    "分页/博客归档": ("wp", "/category/port/archive/"),
    "分页/参数分页": ("param", "/list.php?cid=3"),
    "分页/加载更多": ("more", "/more/"),
    "数据/接口列表": ("api", "/live/"),
    "数据/页面数据": ("next", "/next/"),
    "数据/页面状态": ("state", "/state/"),
    "数据/结构化列表": ("ld", "/ld/"),
}

ARTICLES = [
    (path, f"{path.split('/')[1]}第{n}篇：港口集装箱吞吐量同比增长",
     datetime(2020, 6, 28 - n - 3 * i, 8 + n, 10 + i * 3 + n, 5 + n * 7 % 50, tzinfo=SHANGHAI).astimezone(timezone.utc))
    for i, path in enumerate(CATEGORIES) for n in range(7 if CATEGORIES[path][0] in ("num", "more", "api") else 4)
]


def article_url(n: int) -> str:
    key = CATEGORIES[ARTICLES[n][0]][0]
    return f"/{key}/content/{2020_0000 + n}.html"


def _frame(title: str, body: str) -> bytes:
    sections: dict[str, list[str]] = {}
    for path, (_, url) in CATEGORIES.items():
        top, leaf = path.split("/")
        sections.setdefault(top, []).append(f'<li><a href="{url}">{leaf}</a></li>')
    menu = "".join(f'<li><span class="nav-label">{top}</span><ul>{"".join(items)}</ul></li>'
                   for top, items in sections.items())
    return (f'<html><head><meta charset="utf-8"><title>{title}</title></head><body>'
            f'<nav id="nav"><ul><li><a href="/">首页</a></li>{menu}</ul></nav>{body}</body></html>').encode()


def _mine(path: str) -> list[tuple[int, tuple]]:
    return [(n, a) for n, a in enumerate(ARTICLES) if a[0] == path]


def _row(n: int, a) -> dict:
    return {"id": 100 + n, "title": a[1], "url": article_url(n),
            "publishTime": a[2].astimezone(SHANGHAI).strftime("%Y-%m-%d"), "summary": "摘要"}


def _items(rows) -> str:
    return "".join(f'<li class="news-item"><a href="{article_url(n)}">{a[1]}</a>'
                   f'<span class="date">{a[2].astimezone(SHANGHAI):%Y-%m-%d}</span></li>' for n, a in rows)


def _html_listings(site: sitesrv.Site, path: str, key: str, url: str) -> None:
    mine = _mine(path)
    pages = [mine[i:i + SIZE] for i in range(0, len(mine), SIZE)]
    for p, chunk in enumerate(pages, 1):
        if key == "num":
            links = "".join(f'<a href="index_{q}.html">{q}</a>' if q > 1 else '<a href="index.html">1</a>'
                            for q in range(1, len(pages) + 1))
            where = "/num/" if p == 1 else f"/num/index_{p}.html"
        elif key == "wp":
            links = "".join(f'<a class="page-numbers" href="/category/port/archive/page/{q}/">{q}</a>'
                            for q in range(2, len(pages) + 1))
            where = url if p == 1 else f"/category/port/archive/page/{p}/"
        elif key == "param":
            links = "".join(f'<a href="list.php?cid=3&amp;page={q}">{q}</a>' for q in range(1, len(pages) + 1))
            where = url if p == 1 else f"/list.php?cid=3&page={p}"
        else:                                                   # "more": fragments after the first page
            nxt = (f'<button class="load-more" data-next="/api/more?cat=5&amp;offset={p * SIZE}">加载更多</button>'
                   if p < len(pages) else "")
            if p == 1:
                site.pages[url] = sitesrv.Resource(_frame(path, f'<ul class="list">{_items(chunk)}</ul>{nxt}'), HTML)
            else:
                site.pages[f"/api/more?cat=5&offset={(p - 1) * SIZE}"] = sitesrv.Resource(
                    (_items(chunk) + nxt).encode(), HTML)
            continue
        body = f'<div class="main"><ul class="list">{_items(chunk)}</ul><div class="pager">{links}</div></div>'
        site.pages[where] = sitesrv.Resource(_frame(path, body), HTML)
    if key == "num":
        site.pages["/num/index.html"] = site.pages["/num/"]


def _data_listings(site: sitesrv.Site, path: str, key: str, url: str) -> None:
    rows = [_row(n, a) for n, a in _mine(path)]
    if key == "api":                                            # a shell, filled by its script, page by page
        shell = ('<ul id="list"></ul><script>var page = 1; function load() { fetch("/api/list?cat=7&page=" + page)'
                 '.then(r => r.json()).then(d => { d.data.items.forEach(i => { document.getElementById("list")'
                 '.insertAdjacentHTML("beforeend", "<li><a href=" + i.url + ">" + i.title + "</a></li>"); }); }); }'
                 ' load();</script>')
        site.pages[url] = sitesrv.Resource(_frame(path, shell), HTML)
        for p in range(1, len(rows) // SIZE + 3):
            chunk = rows[(p - 1) * SIZE:p * SIZE]
            site.pages[f"/api/list?cat=7&page={p}"] = sitesrv.Resource(
                json.dumps({"code": 0, "data": {"total": len(rows), "items": chunk}}, ensure_ascii=False).encode(),
                "application/json")
        return
    if key == "next":
        data = {"props": {"pageProps": {"category": path, "articles": rows}}, "page": "/next"}
        script = f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(data, ensure_ascii=False)}</script>'
    elif key == "state":
        data = {"user": None, "channel": {"name": path, "newsList": rows}}
        script = f"<script>window.__INITIAL_STATE__ = {json.dumps(data, ensure_ascii=False)};</script>"
    else:
        data = {"@context": "https://schema.org", "@type": "ItemList", "itemListElement": [
            {"@type": "ListItem", "position": i + 1, "url": r["url"], "name": r["title"]} for i, r in enumerate(rows)]}
        script = f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'
    site.pages[url] = sitesrv.Resource(_frame(path, f'<div id="app"></div>{script}'), HTML)


def shapes_site(site: sitesrv.Site) -> None:
    site.date = NOW
    site.pages["/"] = sitesrv.Resource(_frame("首页", '<div class="welcome">欢迎</div>'), HTML)
    for path, (key, url) in CATEGORIES.items():
        if key in ("num", "wp", "param", "more"):
            _html_listings(site, path, key, url)
        else:
            _data_listings(site, path, key, url)
    for n, (path, title, when) in enumerate(ARTICLES):
        crumb = f'<div class="crumb">首页 &gt; {path.replace("/", " &gt; ")} &gt; 正文</div>'
        body = (f'{crumb}<h1>{title}</h1><div class="info">发布时间：{when.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}</div>'
                f'<div class="content"><p>{title}。据统计，同比增长明显。</p><p>第二段。</p></div>')
        site.pages[article_url(n)] = sitesrv.Resource(_frame(title, body), HTML)
