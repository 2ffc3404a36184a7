"""Readers arriving at once: `feedpub serve` under a polling burst.

    .venv/bin/python bench/serve_burst.py [--readers 200] [--rounds 5] [--slow 50]

Aggregators poll on the minute, so hundreds of readers connect within the
same few milliseconds. Each round opens --readers connections at once
(asyncio, one process), each asking for the all-articles rss.xml (50 items)
with gzip, and records the time from its connect to the first byte of the
answer; a reader with no answer within 10 s counts as unanswered. A second
row repeats the burst while --slow connections hold half-sent requests
open (slowloris), and a first row asks one reader at a time (idle). Baseline, measured in the same run on the same folder
and client: Python's ThreadingHTTPServer (a thread per connection, listen
backlog 5), which `feedpub serve` was built on until issue 27.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchsite import folder_site  # noqa: E402

PYTHON = sys.executable
NO_ANSWER = 10.0


def make_site(root: Path) -> Path:
    """A configuration and 60 articles, built once: the folder both servers serve."""
    cfg = folder_site(root, {
        f"{n:03d}.md": f"---\ntitle: 港口動態第{n}篇\ndate: 2020-06-{1 + n % 28:02d} 10:{n % 60:02d}:00\n"
                       f"category: 物流資訊/港口航運\n---\n" + "本週港口吞吐量穩步回升，集裝箱航線運力恢復。" * 20 + "\n"
        for n in range(60)})
    subprocess.run([PYTHON, "-m", "feedpub", "build", "-q", "--config", str(cfg)], check=True)
    return cfg


def start(command: list[str], ready: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    assert ready in line, line
    port = int(line.rsplit(":", 1)[1].split("/")[0].split()[0].rstrip(") "))
    return proc, port


async def reader(port: int, results: list, go: asyncio.Event) -> None:
    await go.wait()
    started = time.perf_counter()
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), NO_ANSWER)
        w.write(b"GET /rss.xml HTTP/1.1\r\nHost: feeds.example.com\r\nAccept-Encoding: gzip\r\n"
                b"User-Agent: bench\r\nConnection: close\r\n\r\n")
        left = NO_ANSWER - (time.perf_counter() - started)
        first = await asyncio.wait_for(r.read(1), max(0.001, left))
        if not first:
            raise ConnectionError("closed without an answer")
        ttfb = time.perf_counter() - started
        await asyncio.wait_for(r.read(), NO_ANSWER)
        results.append(ttfb)
        w.close()
    except (OSError, asyncio.TimeoutError, ConnectionError):
        results.append(None)


async def burst(port: int, readers: int, slow: int) -> list:
    held = []
    for _ in range(slow):                                # half-sent requests, held open through the burst
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(b"GET /rss.xml HTTP/1.1\r\nHost: x\r\n")
            held.append(w)
        except OSError:
            pass
    results: list = []
    go = asyncio.Event()
    tasks = [asyncio.create_task(reader(port, results, go)) for _ in range(readers)]
    await asyncio.sleep(0.05)                            # every task waits on `go`: they connect together
    go.set()
    await asyncio.gather(*tasks)
    for w in held:
        w.close()
    return results


def summary(times: list) -> str:
    answered = sorted(t for t in times if t is not None)
    missing = len(times) - len(answered)
    if not answered:
        return f"none answered ({missing})"
    return (f"median {statistics.median(answered) * 1000:7.1f} ms  worst {answered[-1] * 1000:7.1f} ms  "
            f"unanswered {missing}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--readers", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--slow", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_site(Path(tmp))
        servers = {
            "feedpub serve": [PYTHON, "-m", "feedpub", "serve", "127.0.0.1:0", "--config", str(cfg)],
            "ThreadingHTTPServer": [PYTHON, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                                    "--directory", str(Path(tmp) / "feeds")],
        }
        ready = {"feedpub serve": "serving", "ThreadingHTTPServer": "Serving HTTP"}
        print(f"{args.readers} readers at once, {args.rounds} rounds each, interleaved; "
              f"slowloris row: {args.slow} half-sent requests held open")
        rows: dict = {(name, slow): [] for name in servers for slow in (-1, 0, args.slow)}
        for _ in range(args.rounds):
            for name, command in servers.items():    # alternated, so both see the same machine
                proc, port = start(command, ready[name])
                try:
                    for _ in range(20):                  # one reader at a time: the idle figure
                        rows[(name, -1)] += asyncio.run(burst(port, 1, 0))
                    for slow in (0, args.slow):
                        rows[(name, slow)] += asyncio.run(burst(port, args.readers, slow))
                finally:
                    proc.terminate()
                    proc.wait(timeout=10)
        for (name, slow), times in rows.items():
            label = f"{name}{', one reader alone' if slow < 0 else ', burst + slowloris' if slow else ', burst'}"
            print(f"  {label:36s} {summary(times)}   ({len(times)} requests)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
