"""A portal whose listings only a browser, or an API, shows (issue 23).

Under a home page with a menu:
- 快讯: an empty shell its script fills from an endpoint no string in the
  script names whole (built from a config object, as bundled front ends
  do): only watching the page's requests finds it;
- 博客/港口: a WordPress category archive whose site exposes the REST API
  (`<link rel="alternate" type="application/json" href=".../wp-json/wp/v2/categories/12">`):
  posts with `date_gmt` to the second, 10 a page, 400 past the last;
- 关于我们: a page with a script and no list (not a listing, said so).
Served by sitesrv from 127.0.0.1; each article page gives its exact time.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import sitesrv

SHANGHAI = timezone(timedelta(hours=8))
HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=UTF-8"
PER_PAGE = 10          # WordPress's default per_page
ROWS = 4               # the shell's endpoint: items per page

CATEGORIES = {"快讯": "/kuaixun/", "博客/港口": "/category/port/"}

ARTICLES = [
    ("快讯", f"快讯第{n}条：集装箱航线运价本周回落", f"/kuaixun/detail/{9000 + n}.html",
     datetime(2020, 6, 30 - n, 9 + n % 10, 3 + n, 11 + n, tzinfo=SHANGHAI).astimezone(timezone.utc))
    for n in range(9)
] + [
    ("博客/港口", f"港口观察第{n}篇：码头“智慧”改造进展", f"/2020/06/{28 - n % 20:02d}/port-note-{n}/",
     datetime(2020, 6, 28 - n % 20, 7 + n % 12, 40 - n, 2 * n % 60, tzinfo=SHANGHAI).astimezone(timezone.utc))
    for n in range(23)
]


def _frame(title: str, body: str, head: str = "") -> bytes:
    menu = ('<li><a href="/kuaixun/">快讯</a></li><li><span>博客</span><ul><li><a href="/category/port/">港口</a>'
            '</li></ul></li><li><a href="/about/">关于我们</a></li>')
    return (f'<html><head><meta charset="utf-8"><title>{title}</title>{head}</head><body>'
            f'<nav class="menu"><ul><li><a href="/">首页</a></li>{menu}</ul></nav>{body}</body></html>').encode()


def _shell(site: sitesrv.Site, mine) -> None:
    site.pages["/kuaixun/"] = sitesrv.Resource(_frame("快讯", (
        '<ul id="flash"></ul><script>var cfg = {svc: "/cms", op: "content/query", channel: 12};'
        'var n = 1; function load() { fetch(cfg.svc + "/" + cfg.op + "?channel=" + cfg.channel + "&pageNo=" + n)'
        '.then(function (r) { return r.json(); }).then(function (d) { d.rows.forEach(function (row) {'
        'document.getElementById("flash").insertAdjacentHTML("beforeend", "<li><a href=\\"" + row.href + "\\">"'
        ' + row.headline + "</a> " + row.when + "</li>"); }); }); } load();</script>')), HTML)
    for page in range(1, len(mine) // ROWS + 3):
        rows = [{"headline": title, "href": url, "when": f"{when.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"}
                for _, title, url, when in mine[(page - 1) * ROWS:page * ROWS]]
        site.pages[f"/cms/content/query?channel=12&pageNo={page}"] = sitesrv.Resource(
            json.dumps({"ok": True, "total": len(mine), "rows": rows}, ensure_ascii=False).encode(), JSON)


def _wordpress(site: sitesrv.Site, mine) -> None:
    head = ('<link rel="https://api.w.org/" href="/wp-json/">'
            '<link rel="alternate" title="JSON" type="application/json" href="/wp-json/wp/v2/categories/12">')
    pages = (len(mine) + PER_PAGE - 1) // PER_PAGE
    for page in range(1, pages + 1):
        chunk = mine[(page - 1) * PER_PAGE:page * PER_PAGE]
        items = "".join(f'<article><h2 class="entry-title"><a href="{url}">{title}</a></h2>'
                        f'<time class="entry-date">{when.astimezone(SHANGHAI):%Y年%m月%d日}</time></article>'
                        for _, title, url, when in chunk)
        nav = f'<a class="next page-numbers" href="/category/port/page/{page + 1}/">下一页</a>' if page < pages else ""
        html = _frame("港口", f'<main>{items}<nav class="pagination">{nav}</nav></main>', head)
        site.pages["/category/port/" if page == 1 else f"/category/port/page/{page}/"] = sitesrv.Resource(html, HTML)
        posts = [{"id": 500 + n, "date": f"{when.astimezone(SHANGHAI):%Y-%m-%dT%H:%M:%S}",
                  "date_gmt": f"{when:%Y-%m-%dT%H:%M:%S}", "link": url,
                  "title": {"rendered": title.replace("“", "&#8220;").replace("”", "&#8221;")},   # as WordPress writes it
                  "excerpt": {"rendered": f"<p>{title}。</p>"}, "categories": [12]}
                 for n, (_, title, url, when) in enumerate(chunk)]
        body = json.dumps(posts, ensure_ascii=False).encode()
        for query in (f"categories=12&page={page}", f"categories=12&per_page={PER_PAGE}&page={page}"):
            site.pages[f"/wp-json/wp/v2/posts?{query}"] = sitesrv.Resource(body, JSON)
    past = json.dumps({"code": "rest_post_invalid_page_number", "message": "页码超出范围。",
                       "data": {"status": 400}}, ensure_ascii=False).encode()
    for query in (f"categories=12&page={pages + 1}", f"categories=12&per_page={PER_PAGE}&page={pages + 1}"):
        site.pages[f"/wp-json/wp/v2/posts?{query}"] = sitesrv.Resource(past, JSON, status=400)


def script_site(site: sitesrv.Site) -> None:
    site.date = datetime(2020, 7, 1, 1, 30, tzinfo=timezone.utc)
    site.pages["/"] = sitesrv.Resource(_frame("首页", '<div class="welcome">欢迎</div>'), HTML)
    site.pages["/about/"] = sitesrv.Resource(_frame("关于我们", '<div id="map"></div><script>var map = 1;</script>'
                                                              '<p>本站创办于2005年。</p>'), HTML)
    _shell(site, [a for a in ARTICLES if a[0] == "快讯"])
    _wordpress(site, [a for a in ARTICLES if a[0] == "博客/港口"])
    for category, title, url, when in ARTICLES:
        crumb = f'<div class="crumb">首页 &gt; {category.replace("/", " &gt; ")} &gt; 正文</div>'
        meta = f'<meta property="article:published_time" content="{when.astimezone(SHANGHAI).isoformat()}">'
        body = (f'{crumb}<h1>{title}</h1><div class="info">{when.astimezone(SHANGHAI):%Y-%m-%d %H:%M}</div>'
                f'<div class="content"><p>{title}。航运市场供需关系变化。</p><p>第二段。</p></div>')
        site.pages[url] = sitesrv.Resource(_frame(title, body, meta), HTML)
