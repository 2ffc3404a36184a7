"""A reader's feed while monitors poll `/metrics` of the same `feedpub serve`.

    .venv/bin/python bench/metrics_load.py [--pollers 16] [--requests 300]

Builds a site of 200 articles (a SQLite store), starts `feedpub serve`
with `[serve] metrics = true`, and times a reader fetching rss.xml one
request after another: first with nothing else going on (the baseline,
measured in the same run), then while --pollers threads fetch /metrics,
each every --every seconds (ten times a second: far more than a monitor
scrapes), then back to back (as fast as they can: the server's whole
capacity). Prints the reader's median and worst time and the ratio to idle
(the target: within 2x).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PYTHON = sys.executable
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchsite import folder_site  # noqa: E402


def make_site(root: Path) -> Path:
    cfg = folder_site(root, {
        f"{n:03d}.md": f"---\ntitle: 港口動態第{n}篇\ndate: 2020-06-{1 + n % 28:02d} 10:{n % 60:02d}:00\n"
                       f"category: 物流資訊/{'港口航運' if n % 2 else '行業新聞'}\n---\n" + "本週港口吞吐量穩步回升。" * 30 + "\n"
        for n in range(200)}, "[serve]\nmetrics = true\n")
    subprocess.run([PYTHON, "-m", "feedpub", "build", "-q", "--config", str(cfg)], check=True,
                   stdout=subprocess.DEVNULL)
    return cfg


def fetch(conn: http.client.HTTPConnection, path: str) -> float:
    started = time.perf_counter()
    conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200, resp.status
    return time.perf_counter() - started


def reader(port: int, requests: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = [fetch(conn, "/rss.xml") for _ in range(requests)]
    conn.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pollers", type=int, default=16)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--every", type=float, default=0.1, help="seconds between one poller's requests")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_site(Path(tmp))
        proc = subprocess.Popen([PYTHON, "-m", "feedpub", "serve", "127.0.0.1:0", "--config", str(cfg)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            port = int(proc.stdout.readline().split(" at ")[1].split()[0].rstrip("/").rsplit(":", 1)[1])
            reader(port, 20)                                          # warm the cache
            idle = reader(port, args.requests)
            rows = [("idle", idle, 0.0)]
            for every in (args.every, 0.0):
                times, rate = under_polling(port, args, every)
                label = f"{args.pollers} polling, {'back to back' if every == 0 else f'every {every:g}s'}"
                rows.append((label, times, rate))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    for label, times, rate in rows:
        print(f"  reader, {label:28s} median {statistics.median(times) * 1000:6.2f} ms  "
              f"worst {max(times) * 1000:7.2f} ms  x{statistics.median(times) / statistics.median(idle):5.2f}"
              + (f"  (/metrics answered {rate:.0f}/s)" if rate else ""))


def under_polling(port: int, args, every: float) -> tuple[list[float], float]:
    """The reader's times while the pollers fetch /metrics (each waits
    `every` seconds between two requests; 0: none)."""
    stop = threading.Event()
    polls = [0]

    def poll():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.is_set():
            fetch(conn, "/metrics")
            polls[0] += 1
            if every:
                stop.wait(every)
        conn.close()
    threads = [threading.Thread(target=poll) for _ in range(args.pollers)]
    for t in threads:
        t.start()
    started = time.perf_counter()
    times = reader(port, args.requests)
    elapsed = time.perf_counter() - started
    stop.set()
    for t in threads:
        t.join()
    return times, polls[0] / elapsed


if __name__ == "__main__":
    main()
