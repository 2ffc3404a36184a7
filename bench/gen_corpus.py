"""A seeded corpus for the benchmarks: M Chinese articles in 50 two-level categories.

    .venv/bin/python bench/gen_corpus.py OUT_DIR --articles 10000 [--format markdown|textdump|json] [--seed 1]

Markdown files carry YAML front matter (what Hugo reads); text dumps have the
scraped-page layout; JSON is one file of objects per category. Titles and
bodies (~1.6 KB) are made up from the project's own phrase lists; timestamps
span two years and come in mixed formats.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

SECTIONS = ["物流資訊", "政策法規", "市場分析", "港口航運", "倉儲配送", "冷鏈物流", "快遞快運", "國際貨運", "供應鏈", "物流科技"]
SUBS = ["行業新聞", "企業動態", "數據統計", "專家觀點", "地方要聞"]
CITIES = ["寧波", "上海", "廣州", "深圳", "天津", "青島", "廈門", "武漢", "重慶", "成都", "西安", "鄭州"]
THINGS = ["集裝箱吞吐量", "快遞業務量", "冷庫容量", "倉儲租金", "貨運量", "班列開行數量", "通關時間", "物流景氣指數"]
VERBS = ["同比增長", "環比上漲", "創歷史新高", "穩步回升", "持續攀升"]
SENTENCES = [
    "{city}市物流協會召開專題會議，研究部署多式聯運相關工作。",
    "據統計，今年前{n}個月，{city}港累計完成貨物吞吐量{m}萬噸，同比增長{p}%。",
    "業內專家認為，物流樞紐建設是降低社會物流成本、提升產業鏈供應鏈穩定性的重要抓手。",
    "記者在現場看到，自動導引車在貨架間穿梭往來，分揀效率較傳統倉庫提高{p}倍以上。",
    "下一步，相關部門將加強政策協同，及時協調解決企業遇到的困難和問題。",
    "市場人士預計，隨著運力逐步恢復，運價將在{n}月後進入調整期。",
]
START = datetime(2019, 1, 1)


def categories() -> list[tuple[str, str]]:
    return [(s, c) for s in SECTIONS for c in SUBS]


def article(rng: random.Random, n: int) -> dict:
    section, sub = categories()[n % 50]
    when = START + timedelta(seconds=rng.randrange(2 * 365 * 86400))
    title = f"{rng.choice(CITIES)}{rng.choice(THINGS)}{rng.choice(VERBS)}{rng.randint(1, 99)}.{rng.randint(0, 9)}% 第{n}號"
    paragraphs = []
    while sum(len(p) for p in paragraphs) < 520:          # ~1.6 KB of UTF-8
        paragraphs.append("".join(rng.choice(SENTENCES).format(city=rng.choice(CITIES), n=rng.randint(1, 12),
                                                               m=rng.randint(100, 999), p=rng.randint(1, 60))
                                  for _ in range(3)))
    return {"n": n, "section": section, "sub": sub, "when": when, "title": title, "paragraphs": paragraphs,
            "source": rng.choice(["港航觀察", "物流時評", "華東物流報", "本站綜合"])}


def date_text(rng: random.Random, when: datetime) -> str:
    """Mixed formats, as newsrooms write them."""
    return rng.choice([
        when.strftime("%Y/%-m/%-d %H:%M:%S"), when.strftime("%Y-%m-%d %H:%M"),
        f"{when.year}年{when.month}月{when.day}日 {when:%H:%M}", when.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
    ])


def write(out: Path, count: int, fmt: str, seed: int) -> None:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    per_category: dict[tuple[str, str], list] = {}
    for n in range(count):
        a = article(rng, n)
        if fmt == "markdown":
            folder = out / f"c{n % 50:02d}"
            folder.mkdir(exist_ok=True)
            front = (f"---\ntitle: \"{a['title']}\"\ndate: {a['when']:%Y-%m-%dT%H:%M:%S}+08:00\n"
                     f"categories: [\"{a['section']}/{a['sub']}\"]\nsource: {a['source']}\n---\n\n")
            (folder / f"a{n:06d}.md").write_text(front + "\n\n".join(a["paragraphs"]) + "\n", encoding="utf-8")
        elif fmt == "textdump":
            folder = out / f"c{n % 50:02d}"
            folder.mkdir(exist_ok=True)
            body = "\n\n".join("      " + p for p in a["paragraphs"])
            (folder / f"a{n:06d}.txt").write_text(
                f"當前位置: 首頁 > {a['section']} > {a['sub']} > {a['title'][:16]}...\n\n    {a['title']}\n\n"
                f"    {date_text(rng, a['when'])}\n\n    來源:{a['source']}\n\n{body}\n", encoding="utf-8")
        else:
            per_category.setdefault((a["section"], a["sub"]), []).append({
                "id": f"a{n}", "title": a["title"], "date": a["when"].strftime("%Y-%m-%d %H:%M:%S"),
                "categories": [f"{a['section']}/{a['sub']}"], "source": a["source"],
                "body": "\n\n".join(a["paragraphs"])})
    for k, (key, items) in enumerate(sorted(per_category.items())):
        (out / f"c{k:02d}.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--format", choices=["markdown", "textdump", "json"], default="markdown")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    write(args.out, args.articles, args.format, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
