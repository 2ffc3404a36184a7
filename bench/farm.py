"""A farm of loopback portals, and `feedpub build` over all of them (issue 26).

    .venv/bin/python bench/farm.py [--portals 50] [--delay 0.2] [--categories 2] [--articles 20]
                                   [--max-connections N] [--run SECONDS]

One process serves --portals portals, each on a port of its own (a host),
asyncio, each answer after --delay seconds: per portal --categories
listings of --articles article pages, with ETag and Last-Modified (304 to
a conditional request). The configuration has one `web` source per portal
(`delay = "0s"`, `robots = false`). Prints, for a first `feedpub build`
and a second one with nothing new: wall time, CPU time of the build (and
of the farm, which serves from this process on the same cores), the
requests the farm answered and the most in flight at once (all portals,
and on one portal); and the ideal for comparison, measured by nothing but
arithmetic on the same farm: every host's requests one after another, the
hosts side by side (the number of one host's requests times the delay).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PYTHON = sys.executable


class Farm:
    """The portals, in a thread of this process running one asyncio loop."""

    def __init__(self, portals: int, categories: int, articles: int, delay: float):
        self.portals, self.categories, self.articles, self.delay = portals, categories, articles, delay
        self.requests = 0
        self.not_modified = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.per_port: dict[int, int] = {}
        self.most_per_port = 0
        self.ports: list[int] = []
        self._ready = threading.Event()
        threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True).start()
        self._ready.wait()

    def reset(self) -> None:
        self.requests = self.not_modified = self.most_in_flight = self.most_per_port = 0

    def page(self, portal: int, path: str) -> bytes | None:
        parts = path.strip("/").split("/")
        if len(parts) == 1 and parts[0].startswith("c"):                  # /c1/: a category's listing
            c = int(parts[0][1:])
            items = "".join(f'<li><a href="/c{c}/{a}.html">第{portal}站第{c}欄第{a}篇：港口吞吐量穩步回升</a>'
                            f'<span>2020-06-{1 + a % 28:02d}</span></li>' for a in range(self.articles))
            return (f'<html><head><meta charset="utf-8"></head><body><ul class="list">{items}</ul>'
                    f'</body></html>').encode()
        if len(parts) == 2 and parts[1].endswith(".html"):
            c, a = int(parts[0][1:]), int(parts[1][:-5])
            title = f"第{portal}站第{c}欄第{a}篇：港口吞吐量穩步回升"
            return (f'<html><head><meta charset="utf-8"></head><body><h1>{title}</h1><div class="info">'
                    f'2020-06-{1 + a % 28:02d} {8 + c:02d}:{a % 60:02d}:{portal % 60:02d}</div>'
                    f'<div class="content"><p>{title}。</p>' + "<p>正文。</p>" * 20 + "</div></body></html>").encode()
        return None

    async def _main(self) -> None:
        servers = []
        for n in range(self.portals):
            server = await asyncio.start_server(lambda r, w, n=n: self._serve(n, r, w), "127.0.0.1", 0)
            servers.append(server)
            self.ports.append(server.sockets[0].getsockname()[1])
        self._ready.set()
        await asyncio.Event().wait()

    async def _serve(self, portal: int, reader, writer) -> None:
        port = self.ports[portal]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                self.requests += 1
                self.in_flight += 1
                self.per_port[port] = self.per_port.get(port, 0) + 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                self.most_per_port = max(self.most_per_port, self.per_port[port])
                try:
                    await asyncio.sleep(self.delay)
                    body = self.page(portal, path)
                    etag = '"' + hashlib.sha1(body or b"").hexdigest()[:16] + '"'
                    if body is None:
                        status, body = "404 Not Found", b"not found"
                    elif headers.get("if-none-match") == etag:
                        status, body = "304 Not Modified", b""
                        self.not_modified += 1
                    else:
                        status = "200 OK"
                finally:
                    self.in_flight -= 1
                    self.per_port[port] -= 1
                writer.write((f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nETag: {etag}\r\n"
                              f"Last-Modified: Tue, 30 Jun 2020 00:00:00 GMT\r\n"
                              f"Date: Wed, 01 Jul 2020 01:30:00 GMT\r\nContent-Length: {len(body)}\r\n\r\n")
                             .encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def configure(root: Path, farm: Farm, every: str | None = None, max_connections: int | None = None) -> Path:
    schedule = f'every = "{every}"\njitter = "0s"\n' if every else ""
    sources = "".join(f"""
[[sources]]
name = "portal{n}"
type = "web"
delay = "0s"
robots = false
{schedule}
start = [{", ".join(f'{{ url = "http://127.0.0.1:{port}/c{c}/", category = "第{n}站/第{c}欄" }}'
                    for c in range(farm.categories))}]
item = "ul.list li"
title = "a"
link = "a@href"
date = "span"
[sources.article]
title = "h1"
date = ".info"
body = "div.content"
""" for n, port in enumerate(farm.ports))
    cfg = root / "feedpub.toml"
    cfg.write_text(f"""
[site]
title = "Farm"
link = "http://127.0.0.1:{farm.ports[0]}/"
feeds_url = "https://feeds.example.com/"
timezone = "Asia/Shanghai"
[output]
dir = "feeds"
max_items = 50
[store]
url = "sqlite:///state/feedpub.db"
""" + (f"[web]\nmax_connections = {max_connections}\n" if max_connections else "") + sources, encoding="utf-8")
    return cfg


def timed_build(cfg: Path, farm: Farm, limit: float) -> dict:
    farm.reset()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    serving = resource.getrusage(resource.RUSAGE_SELF)      # the farm is this process: its CPU shares the cores
    started = time.perf_counter()
    try:
        r = subprocess.run([PYTHON, "-m", "feedpub", "build", "-q", "--config", str(cfg)], capture_output=True,
                           text=True, timeout=limit)
        done = r.returncode == 0
    except subprocess.TimeoutExpired:
        done = False
    wall = time.perf_counter() - started
    _reap()                                 # its parsing and rendering workers count too
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    served = resource.getrusage(resource.RUSAGE_SELF)
    farm_cpu = (served.ru_utime - serving.ru_utime) + (served.ru_stime - serving.ru_stime)
    return {"done": done, "wall": wall, "cpu": cpu, "farm_cpu": farm_cpu, "requests": farm.requests,
            "not_modified": farm.not_modified,
            "in_flight": farm.most_in_flight, "per_host": farm.most_per_port}


def _reap() -> None:
    """Wait for the build's orphans (its forkserver and workers end with it
    and are handed to this process, a child subreaper), so that their CPU
    is in RUSAGE_CHILDREN."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def _proc_cpu(pid: int) -> float:
    """CPU seconds a process (and its waited-for children) has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _peak_kb(pid: int) -> int:
    return int(next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("VmHWM")).split()[1])


def timed_run(root: Path, farm: Farm, seconds: float, every: str, limit: float,
              max_connections: int | None = None) -> dict:
    """`feedpub run` on an empty store: its first gathers (until every page
    of the farm was asked for once: wall, CPU, requests), then `seconds`
    of steady polling (requests, CPU per request) and the peak memory."""
    cfg = configure(root, farm, every, max_connections)
    first = farm.portals * farm.categories * (1 + farm.articles)
    farm.reset()
    started = time.monotonic()
    proc = subprocess.Popen([PYTHON, "-m", "feedpub", "run", "--config", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while farm.requests < first and time.monotonic() - started < limit:
            time.sleep(0.2)
        row = {"first_wall": time.monotonic() - started, "first_cpu": _proc_cpu(proc.pid),
               "first_requests": farm.requests}
        time.sleep(seconds)                    # what the first gathers left (storing, regenerating) settles
        farm.reset()
        cpu0 = _proc_cpu(proc.pid)
        time.sleep(seconds)
        row.update(requests=farm.requests, cpu=_proc_cpu(proc.pid) - cpu0, peak_mb=_peak_kb(proc.pid) / 1024,
                   in_flight=farm.most_in_flight)
        return row
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    if sys.platform == "linux":
        import ctypes
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)          # PR_SET_CHILD_SUBREAPER: see _reap
    ap = argparse.ArgumentParser()
    ap.add_argument("--portals", type=int, default=50)
    ap.add_argument("--delay", type=float, default=0.2)
    ap.add_argument("--categories", type=int, default=2)
    ap.add_argument("--articles", type=int, default=20)
    ap.add_argument("--max-connections", type=int, default=None, help="[web] max_connections (default: feedpub's)")
    ap.add_argument("--limit", type=float, default=600, help="seconds a build may take before it is cut")
    ap.add_argument("--run", type=float, default=0, help="also: `feedpub run` (every 20 s) on an empty store: its "
                                                         "first gathers, then this many seconds of polling "
                                                         "(after as many to settle)")
    args = ap.parse_args()
    farm = Farm(args.portals, args.categories, args.articles, args.delay)
    per_host = args.categories * (1 + args.articles)
    ideal = per_host * args.delay
    print(f"{args.portals} portals x {args.categories} categories x {args.articles} articles, {args.delay * 1000:.0f} ms "
          f"an answer; ideal first build {ideal:.1f} s ({per_host} requests a host, hosts side by side), "
          f"ideal second build {args.categories * args.delay:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = configure(Path(tmp), farm, max_connections=args.max_connections)
        for label in ("first build", "second build, nothing new"):
            row = timed_build(cfg, farm, args.limit)
            base = ideal if label == "first build" else args.categories * args.delay
            print(f"  {label:28s} {'' if row['done'] else '(cut) '}{row['wall']:7.1f} s  ({row['wall'] / base:5.1f}x ideal)"
                  f"  CPU {row['cpu']:6.1f} s ({row['cpu'] / max(1, row['requests']) * 1000:5.1f} ms a request)"
                  f"  the farm's own CPU {row['farm_cpu']:5.1f} s"
                  f"  {row['requests']} requests, {row['not_modified']} 304  in flight at most {row['in_flight']}"
                  f" (one host: {row['per_host']})")
    if args.run:
        with tempfile.TemporaryDirectory() as tmp:
            row = timed_run(Path(tmp), farm, args.run, "20s", args.limit, args.max_connections)
        print(f"  feedpub run (every 20s), first gathers {row['first_wall']:.1f} s ({row['first_wall'] / ideal:.1f}x "
              f"ideal)  CPU {row['first_cpu']:.1f} s ({row['first_cpu'] / max(1, row['first_requests']) * 1000:.1f} ms "
              f"a request)  {row['first_requests']} requests")
        print(f"  feedpub run, then {args.run:.0f} s of polling  {row['requests']} requests "
              f"({args.run / 20 * args.portals * args.categories:.0f} due), CPU {row['cpu']:.1f} s "
              f"({row['cpu'] / max(1, row['requests']) * 1000:.1f} ms a request), peak memory "
              f"{row['peak_mb']:.0f} MB, in flight at most {row['in_flight']}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
