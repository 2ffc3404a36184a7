"""A portal as a new user meets it: a home page with a nested menu (a
dropdown whose parent is a <button>, a section page with its own
subsections), headline and "more" boxes, a sidebar of hot articles on every
article page, and the traps of real listings: a pinned item on every page,
an article listed under two categories, a link that answers 404, pages
that are not listings (about, contact), a sponsored entry (no date, a link
of another shape). Served by sitesrv from 127.0.0.1,
with the articles each category must publish.

Each article: (category path, title, UTC instant, source).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sitesrv

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2020, 7, 1, 1, 30, tzinfo=timezone.utc)          # the server's Date: 09:30 in Shanghai
HTML = "text/html; charset=utf-8"


def _utc(day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(2020, 6, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(timezone.utc)


# path in the menu -> (listing URL, its articles)
CATEGORIES = {
    "港航/港口动态": "/port/news/",
    "港航/航运市场": "/port/market/",
    "物流/冷链物流": "/logistics/cold/",
    "物流/快递快运": "/logistics/express/",
}

ARTICLES = (
    [("港航/港口动态", f"港口动态第{n}篇：集装箱吞吐量稳步回升", _utc(28 - n, 8 + n % 9, n * 7 % 60, n * 13 % 60), "中国港口网")
     for n in range(12)] +
    [("港航/航运市场", f"航运市场第{n}篇：运价指数连续上涨", _utc(27 - n, 9 + n % 7, n * 11 % 60, n * 17 % 60), "航运交易所")
     for n in range(7)] +
    [("物流/冷链物流", f"冷链物流第{n}篇：冷库容量持续扩大", _utc(26 - n, 10 + n % 5, n * 5 % 60, n * 19 % 60), "冷链周刊")
     for n in range(9)] +
    [("物流/快递快运", f"快递快运第{n}篇：业务量同比增长", _utc(25 - n, 7 + n % 6, n * 3 % 60, n * 23 % 60), "邮政局")
     for n in range(5)]
)
# Listed under 港口动态 as well, but its page (and breadcrumb) is 航运市场's: filed there only.
SHARED = next(a for a in ARTICLES if a[0] == "港航/航运市场")
PINNED = next(a for a in ARTICLES if a[0] == "港航/港口动态" and a[1].startswith("港口动态第11篇"))


def article_path(n: int) -> str:
    category, _, when, _ = ARTICLES[n]
    return f"{CATEGORIES[category]}{when.astimezone(SHANGHAI):%Y%m}/t{when.astimezone(SHANGHAI):%Y%m%d}_{1000 + n}.html"


def _page(title: str, body: str) -> bytes:
    menu = """
      <div class="topbar"><span class="date">2020年7月1日 星期三</span><a href="/login.html">登录</a></div>
      <nav class="main-nav"><ul class="menu">
        <li><a href="/">首页</a></li>
        <li class="dropdown"><button type="button">港航</button><ul class="sub-menu">
          <li><a href="/port/news/">港口动态</a></li><li><a href="/port/market/">航运市场</a></li></ul></li>
        <li><a href="/logistics/">物流</a><ul class="sub-menu">
          <li><a href="/logistics/cold/">冷链物流</a></li><li><a href="/logistics/express/">快递快运</a></li></ul></li>
        <li><a href="/about.html">关于我们</a></li>
      </ul></nav>"""
    footer = '<div class="footer"><a href="/about.html">关于我们</a> <a href="/contact.html">联系方式</a></div>'
    return (f'<html><head><meta charset="utf-8"><title>{title}_物流港航网</title></head><body>{menu}{body}{footer}'
            f'</body></html>').encode()


def _sidebar() -> str:
    hot = [a for a in ARTICLES if a[0] == "物流/快递快运"][:3]
    items = "".join(f'<li><a href="{article_path(ARTICLES.index(a))}">{a[1]}</a>'
                    f'<span class="time">{a[2].astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}</span></li>' for a in hot)
    return f'<div class="side"><h3>热门文章</h3><ul>{items}</ul></div>'


def home_site(site: sitesrv.Site) -> None:
    site.date = NOW
    latest = sorted(ARTICLES, key=lambda a: a[2], reverse=True)[:6]
    headline = "".join(f'<li><a href="{article_path(ARTICLES.index(a))}">{a[1]}</a></li>' for a in latest)
    boxes = "".join(
        f'<div class="box"><h2>{path.split("/")[1]}</h2><a class="more" href="{url}">更多&gt;&gt;</a><ul>'
        + "".join(f'<li><a href="{article_path(ARTICLES.index(a))}">{a[1]}</a></li>'
                  for a in [x for x in ARTICLES if x[0] == path][:3]) + "</ul></div>"
        for path, url in CATEGORIES.items())
    site.pages["/"] = sitesrv.Resource(_page("首页", f'<div class="focus"><h2>头条</h2><ul>{headline}</ul></div>{boxes}'),
                                       HTML)
    site.pages["/about.html"] = sitesrv.Resource(_page("关于我们", "<div class='content'><p>本站成立于2001年。</p></div>"), HTML)
    site.pages["/contact.html"] = sitesrv.Resource(_page("联系方式", "<p>电话：010-12345678</p>"), HTML)
    site.pages["/login.html"] = sitesrv.Resource(_page("登录", "<form><input name=u></form>"), HTML)
    site.pages["/logistics/"] = sitesrv.Resource(_page("物流", "".join(
        f'<div class="box"><h2>{path.split("/")[1]}</h2><a class="more" href="{url}">更多</a></div>'
        for path, url in CATEGORIES.items() if path.startswith("物流/"))), HTML)
    for path, url in CATEGORIES.items():
        mine = [a for a in ARTICLES if a[0] == path]
        if path == "港航/港口动态":
            mine = [a for a in mine if a is not PINNED] + [SHARED]
        size = 5
        pages = [mine[i:i + size] for i in range(0, len(mine), size)]
        for p, chunk in enumerate(pages):
            rows = ([PINNED] if path == "港航/港口动态" else []) + chunk
            items = "".join(
                f'<li><a href="{article_path(ARTICLES.index(a))}" title="{a[1]}">'
                f'{"[置顶] " if a is PINNED else ""}{a[1][:12]}…</a>'
                f'<span class="date">{a[2].astimezone(SHANGHAI):%Y-%m-%d}</span></li>' for a in rows)
            if path == "物流/冷链物流" and p == 0:
                items += '<li><a href="/logistics/cold/202006/t20200601_9999.html">冷链物流：这篇报道已被删除</a>' \
                         '<span class="date">2020-06-01</span></li>'        # answers 404
                items += '<li><a href="/ad/click?id=3" title="推广：冷库租赁限时优惠">推广：冷库租赁限时优惠</a></li>'  # an ad
            nxt = (f'<a href="index_{p + 1}.html">下一页</a>' if p + 1 < len(pages) else "")
            crumb = f'<div class="position">当前位置：<a href="/">首页</a> &gt; {path.replace("/", " &gt; ")}</div>'
            body = f'{crumb}<div class="main"><ul class="news-list">{items}</ul><div class="pager">{nxt}</div></div>'
            site.pages[url + ("" if p == 0 else f"index_{p}.html")] = sitesrv.Resource(_page(path.split("/")[1], body),
                                                                                     HTML)
    for n, (path, title, when, source) in enumerate(ARTICLES):
        local = when.astimezone(SHANGHAI)
        crumb = f'<div class="position">当前位置：<a href="/">首页</a> &gt; {path.replace("/", " &gt; ")} &gt; 正文</div>'
        body = (f'{crumb}<div class="main"><h1>{title}</h1>'
                f'<div class="info">发布时间：{local:%Y-%m-%d %H:%M:%S}　来源：{source}</div>'
                f'<div class="article-content"><p>{title}。据{source}报道，相关数据持续向好。</p>'
                f'<p>业内人士表示，下半年有望继续保持增长。</p></div>'
                f'<div class="related"><h3>相关阅读</h3><ul><li><a href="/port/news/">港口动态</a></li></ul></div>'
                f'</div>{_sidebar()}')
        site.pages[article_path(n)] = sitesrv.Resource(_page(title, body), HTML)


def ad_site(site: sitesrv.Site) -> None:
    """What the ad's link leads to: a page that would become an undated item."""
    site.pages["/ad/click?id=3"] = sitesrv.Resource(_page("冷库租赁", "<h1>推广：冷库租赁限时优惠</h1><p>欢迎来电。</p>"),
                                                    HTML)
