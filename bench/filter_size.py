"""Filtered feeds ([[feeds]]) on long articles: filing must stay linear.

    .venv/bin/python bench/filter_size.py [--kb 256,512,1024] [--rounds 3]

One article of the given size (one paragraph per line, 冷 in every
sentence and 鏈 nowhere: the worst case for a backtracking `冷.*鏈`) is
built with `feedpub build` in a process of its own, with a filtered feed
(the README's words and patterns, plus `/冷.*鏈/`), and as the baseline in
the same run the same build without [[feeds]]. The difference is what
filing costs; linear filing keeps it proportional to the size.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchsite import folder_site  # noqa: E402

FEEDS = """
[[feeds]]
slug = "topics/cold-chain"
title = "冷鏈物流"
include = ["冷鏈", "冷庫", "/-\\\\d+℃/", "/冷.*鏈/"]
exclude = ["廣告"]
"""


def site(root: Path, kb: int, feeds: bool) -> Path:
    sentence = "冷凍食品運輸需求持續上升，港口吞吐量穩步回升，集裝箱航線運力逐步恢復。"
    line = sentence * 40
    lines = [line] * max(1, kb * 1024 // len((line + "\n").encode()))
    text = ("當前位置: 首頁 > 物流資訊 > 行業新聞 > 長文\n\n    長文\n\n    2020/6/1 22:46:13\n\n    來源:本站\n\n"
            + "\n\n".join("      " + text for text in lines) + "\n")
    return folder_site(root, {"long.txt": text}, FEEDS if feeds else "")


def timed_build(kb: int, feeds: bool) -> float:
    root = Path(tempfile.mkdtemp())
    try:
        cfg = site(root, kb, feeds)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "feedpub", "build", "-q", "--config", str(cfg)], check=True,
                       stdout=subprocess.DEVNULL)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(root)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kb", default="256,512,1024")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"{'article':>8} {'no [[feeds]] s':>15} {'with [[feeds]] s':>17} {'filing s':>9}")
    for kb in map(int, args.kb.split(",")):
        plain = min(timed_build(kb, False) for _ in range(args.rounds))
        filtered = min(timed_build(kb, True) for _ in range(args.rounds))
        print(f"{kb:>6}KB {plain:>15.2f} {filtered:>17.2f} {filtered - plain:>9.2f}")


if __name__ == "__main__":
    main()
