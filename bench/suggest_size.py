"""`feedpub suggest` on listings of growing size: it must stay linear.

    .venv/bin/python bench/suggest_size.py [--links 2500,5000,10000,20000]

Serves one listing page per size on 127.0.0.1 (a menu, N items of a link
and a date, a next-page link: 20,000 items make a 1.7 MB page) and times
the real command, `python -m feedpub suggest URL`, end to end. Baseline in
the same run: the same process doing only what any reader of the page
must (fetch it and parse it with lxml), so the ratio is what suggest's own
work costs on top, and a linear suggest keeps the per-link figure flat.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGES: dict[str, bytes] = {}

BASELINE = """
import sys, urllib.request
from lxml import html
html.document_fromstring(urllib.request.urlopen(sys.argv[1]).read().decode("utf-8"))
"""


def listing(n: int) -> bytes:
    items = "".join(f'<li><a href="/news/2020/06/{i:06d}.html">港口吞吐量穩步回升第{i}篇報道</a>'
                    f'<span class="date">2020-06-{1 + i % 28:02d}</span></li>' for i in range(n))
    return (f'<html><head><meta charset="utf-8"><title>港口動態</title></head><body><div class="nav">'
            f'<a href="/">首頁</a><a href="/port/">港口動態</a></div><ul class="list">{items}</ul>'
            f'<div class="pager"><a href="index_2.html">下一頁</a></div></body></html>').encode()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        body = PAGES.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--links", default="2500,5000,10000,20000")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    print(f"{'links':>7} {'page KB':>8} {'suggest s':>10} {'fetch+parse s':>14} {'suggest ms/1k links':>20}")
    for n in map(int, args.links.split(",")):
        PAGES[f"/list{n}/index.html"] = listing(n)
        url = f"{base}/list{n}/index.html"
        ours = min(timed([sys.executable, "-m", "feedpub", "suggest", url]) for _ in range(args.rounds))
        floor = min(timed([sys.executable, "-c", BASELINE, url]) for _ in range(args.rounds))
        print(f"{n:>7} {len(PAGES[f'/list{n}/index.html']) >> 10:>8} {ours:>10.2f} {floor:>14.2f} "
              f"{(ours - floor) / n * 1000 * 1000:>20.1f}")
    httpd.shutdown()


if __name__ == "__main__":
    main()
