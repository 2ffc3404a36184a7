"""Three small portals built the way real Chinese government and newsroom
sites are, served by sitesrv from 127.0.0.1, with the articles each must give.

- TRS (government CMS): GB2312-declared GBK pages, `index.html`, `index_1.html`
  … reached only through a `createPageHTML(...)` script call, the exact time
  only in `<meta name="PubDate">`, the body in `div.TRS_Editor` with styles.
- JSON: an empty listing shell filled from `/api/content/list?catid=…&page=…`,
  epoch seconds in one category, milliseconds in the other.
- PHPCMS/Discuz: year-less and relative listing dates, the exact time and the
  source only inside a byline, one category in Big5.

Each article: (category path, title, UTC instant, source).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import sitesrv

SHANGHAI = timezone(timedelta(hours=8))
# The servers' clock (their Date header): 2020-07-01 09:30 in Shanghai.
NOW = datetime(2020, 7, 1, 1, 30, tzinfo=timezone.utc)


def utc(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).astimezone(timezone.utc)


# -- TRS -------------------------------------------------------------------------------------------
TRS_ARTICLES = [   # 12 notices, 5 to a page: index.html, index_1.html, index_2.html
    ("政策法規/通知公告", f"關於做好第{n}批國家物流樞紐建設工作的通知", utc(f"2020-06-{28 - n:02d} {9 + n % 8:02d}:{n * 7 % 60:02d}:{n * 13 % 60:02d}"),
     "交通運輸部" if n % 2 else "國家發展改革委")
    for n in range(12)
]


def trs_site(site: sitesrv.Site) -> None:
    per_page = 5
    pages = [TRS_ARTICLES[i:i + per_page] for i in range(0, len(TRS_ARTICLES), per_page)]
    for p, chunk in enumerate(pages):
        items = "".join(
            f'<li><a href="./202006/t202006{p * per_page + i:02d}_{1000 + p * per_page + i}.html" target="_blank" '
            f'title="{title}">{title[:14]}…</a><span>{when.astimezone(SHANGHAI):%Y-%m-%d}</span></li>'
            for i, (_, title, when, _) in enumerate(chunk))
        html = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
                f'<title>通知公告</title></head><body><div class="position">您現在的位置：首頁 &gt; 政策法規 &gt; 通知公告</div>'
                f'<ul class="list">{items}</ul><div class="page"><script>createPageHTML({len(pages)}, {p}, "index", "html");'
                f'</script></div></body></html>')
        name = "index.html" if p == 0 else f"index_{p}.html"
        site.pages[f"/gov/tzgg/{name}"] = sitesrv.Resource(html.encode("gbk"), "text/html")
    for n, (_, title, when, source) in enumerate(TRS_ARTICLES):
        local = when.astimezone(SHANGHAI)
        html = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
                f'<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{local:%Y-%m-%d %H:%M:%S}">'
                f'<meta name="ContentSource" content="{source}"><title>{title}_中國政府網</title></head><body>'
                f'<div class="position">您現在的位置：首頁 &gt; 政策法規 &gt; 通知公告 &gt; 正文</div>'
                f'<h1>{title}</h1><div class="info">發佈時間：{local:%Y-%m-%d}</div>'
                f'<div class="TRS_Editor"><p style="text-indent:2em;font-size:16px">各省、自治區、直轄市交通運輸廳（局、委）：</p>'
                f'<p style="text-indent:2em">現將第{n}批有關事項通知如下。</p></div></body></html>')
        site.pages[f"/gov/tzgg/202006/t202006{n:02d}_{1000 + n}.html"] = sitesrv.Resource(html.encode("gbk"), "text/html")


TRS_CONFIG = """
[[sources]]
name = "gov"
type = "web"
delay = "0s"
retries = 0
start = [{{ url = "{base}/gov/tzgg/index.html", category = "政策法規/通知公告" }}]
item = "ul.list li"
title = "a@title"
link = "a@href"
date = "span"
page_url = "index_{{n}}.html"
max_pages = 10

[sources.article]
title = "meta[name=ArticleTitle]@content"
date = "meta[name=PubDate]@content"
source = "meta[name=ContentSource]@content"
body = "div.TRS_Editor"
"""


# -- JSON -------------------------------------------------------------------------------------------
JSON_ARTICLES = (
    [("物流資訊/港口航運", f"港口第{n}季度集裝箱吞吐量再創新高", utc(f"2020-06-{20 + n % 9:02d} {8 + n:02d}:{n * 11 % 60:02d}:{n * 17 % 60:02d}"),
      "港航觀察") for n in range(13)] +
    [("物流資訊/冷鏈物流", f"冷鏈物流第{n}號倉庫投入使用", utc(f"2020-06-{10 + n:02d} {10 + n:02d}:{n * 3 % 60:02d}:{n * 29 % 60:02d}"),
      "冷鏈周刊") for n in range(7)]
)


def json_site(site: sitesrv.Site) -> None:
    site.pages["/news/list.html"] = sitesrv.Resource(
        '<html><head><meta charset="utf-8"></head><body><ul id="list"><li class="tpl"><a href="{{url}}">{{title}}</a>'
        '</li></ul><script src="/static/list.js"></script></body></html>'.encode(), "text/html; charset=utf-8")
    for catid, category, millis in ((12, "物流資訊/港口航運", False), (13, "物流資訊/冷鏈物流", True)):
        mine = [a for a in JSON_ARTICLES if a[0] == category]
        size = 5
        for page in range(1, len(mine) // size + 3):                 # and one empty page past the end
            chunk = mine[(page - 1) * size:page * size]
            rows = []
            for title, when, source in ((t, w, s) for _, t, w, s in chunk):
                n = JSON_ARTICLES.index((category, title, when, source))
                stamp = int(when.timestamp()) * (1000 if millis else 1)
                rows.append({"id": n, "title": title, "url": f"/news/{catid}/{n}.html", "inputtime": stamp,
                             "copyfrom": source, "thumb": ""})
            body = json.dumps({"code": 0, "data": {"total": len(mine), "list": rows}}, ensure_ascii=False)
            site.pages[f"/api/content/list?catid={catid}&page={page}&size={size}"] = sitesrv.Resource(
                body.encode(), "application/json")
    for n, (category, title, when, source) in enumerate(JSON_ARTICLES):
        catid = 12 if category.endswith("港口航運") else 13
        local = when.astimezone(SHANGHAI)
        site.pages[f"/news/{catid}/{n}.html"] = sitesrv.Resource(
            (f'<html><head><meta charset="utf-8"><title>{title}</title></head><body><h1>{title}</h1>'
             f'<div class="meta"><span class="time">{local:%Y-%m-%d %H:%M:%S}</span></div>'
             f'<div class="content"><p>{title}。正文。</p></div></body></html>').encode(), "text/html; charset=utf-8")


JSON_CONFIG = """
[[sources]]
name = "api"
type = "web"
delay = "0s"
retries = 0
listing = "json"
start = [
  {{ url = "{base}/api/content/list?catid=12&page=1&size=5", category = "物流資訊/港口航運" }},
  {{ url = "{base}/api/content/list?catid=13&page=1&size=5", category = "物流資訊/冷鏈物流" }},
]
item = "data.list"
title = "title"
link = "url"
date = "inputtime"
source = "copyfrom"
page_param = "page"
max_pages = 10
"""

JSON_ARTICLE_SELECTORS = """
[sources.article]
title = "h1"
date = ".meta .time"
body = "div.content"
"""


# -- PHPCMS / Discuz ---------------------------------------------------------------------------------
def _listed(when: datetime) -> str:
    """How such a portal lists a date: relative when recent, year-less else."""
    ago = NOW - when
    local = when.astimezone(SHANGHAI)
    if ago < timedelta(hours=1):
        return "半小時前"
    if ago < timedelta(hours=10):
        return f"{ago.seconds // 3600}小時前"
    if local.date() == NOW.astimezone(SHANGHAI).date() - timedelta(days=1):
        return f"昨天 {local:%H:%M}"
    return f"{local:%m-%d}"


PHP_ARTICLES = (
    [("物流資訊/行業新聞", f"行業新聞第{n}篇：快遞業務量穩步增長", NOW - timedelta(minutes=30 + n * 97, seconds=n * 7),
      "中國港口網訊" if n % 2 else "物流時報") for n in range(9)] +
    [("物流資訊/台灣物流", f"台灣物流第{n}篇：港口貨櫃裝卸量增加", NOW - timedelta(days=2 + n, hours=n, seconds=n * 11),
      "經濟日報") for n in range(4)]
)


def php_site(site: sitesrv.Site) -> None:
    for folder, category, charset in (("hyxw", "物流資訊/行業新聞", "utf-8"), ("twwl", "物流資訊/台灣物流", "big5")):
        mine = [(n, a) for n, a in enumerate(PHP_ARTICLES) if a[0] == category]
        size = 4
        pages = [mine[i:i + size] for i in range(0, len(mine), size)]
        for p, chunk in enumerate(pages):
            items = "".join(f'<dl><dt><a href="/html/{folder}/{n}.html">{title}</a></dt>'
                            f'<dd class="date">{_listed(when)}</dd></dl>' for n, (_, title, when, _) in chunk)
            nxt = f'<a href="list_{p + 2}.html">下一頁</a>' if p + 1 < len(pages) else '<span>下一頁</span>'
            html = (f'<html><head><meta charset="{charset}"><title>{category}</title></head><body>'
                    f'<div class="list">{items}</div><div class="pages">{nxt}</div></body></html>')
            name = "index.html" if p == 0 else f"list_{p + 1}.html"
            site.pages[f"/html/{folder}/{name}"] = sitesrv.Resource(html.encode(charset), "text/html")
        for n, (_, title, when, source) in mine:
            local = when.astimezone(SHANGHAI)
            html = (f'<html><head><meta charset="{charset}"><title>{title}</title></head><body>'
                    f'<div class="crumb">當前位置：首頁 &gt; {category.replace("/", " &gt; ")} &gt; 正文</div>'
                    f'<div class="title"><h2>{title}</h2></div>'
                    f'<div class="msgbar">作者：記者 張三 來源：{source} 時間：{local:%Y-%m-%d %H:%M:%S} 點擊：<span id="hits">0</span></div>'
                    f'<div id="article"><p>{title}。</p><p>正文第二段。</p></div></body></html>')
            site.pages[f"/html/{folder}/{n}.html"] = sitesrv.Resource(html.encode(charset), "text/html")


PHP_CONFIG = """
[[sources]]
name = "php"
type = "web"
delay = "0s"
retries = 0
start = [
  {{ url = "{base}/html/hyxw/index.html", category = "物流資訊/行業新聞" }},
  {{ url = "{base}/html/twwl/index.html", category = "物流資訊/台灣物流" }},
]
item = "div.list dl"
title = "dt a"
link = "dt a@href"
date = "dd.date"
next_page = "a:contains('下一頁')@href"
max_pages = 10

[sources.article]
title = "div.title h2"
date = "div.msgbar"
source = {{ select = "div.msgbar", pattern = '來源：\\s*(\\S+)' }}
body = "#article"
"""
