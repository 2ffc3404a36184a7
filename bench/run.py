"""feedpub against Hugo on the same corpus: cold build, one new article, nothing new, memory.

    .venv/bin/python bench/run.py [--sizes 1000,10000,50000] [--large] [--reps 3] [--quick]

For each size M the seeded corpus (bench/gen_corpus.py: 50 two-level Chinese
categories, ~1.6 KB articles, newest 50 per feed, full text) is built by
feedpub (RSS + Atom + JSON) and, when `hugo` is installed (apt-get install
hugo), by Hugo with an RSS-only configuration written here, alternating the
two round by round. Figures are medians with min-max; CPU is the median of
user + system time of the command and every process it started; peak RSS is the
process's own. Ratios are against Hugo's full build in the same run. Results
go to stdout and to bench/RESULTS.md.

Rows: whole `feedpub build` processes (cold, one new article, nothing new),
then the same incremental cases as scheduler ticks inside one running
process (bench/tick.py: what `feedpub run` pays per tick), for a folder that
is scanned on each tick and for a watched one (`watch = true`: the tick looks
at the files the events named), then a cold build of text dumps and one that
also writes an HTML page per article (ratios against the Markdown cold
build). Peak MB is the largest single process (a cold build parses in worker
processes; forked, they share most of their pages with the parent).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
# Seconds of one command, and the peak resident memory of its largest
# process. The command's orphans (a forkserver and the workers it forked
# outlive the process that started them by a moment) are reparented to this
# wrapper (a child subreaper) and waited for, so their peak counts too.
PEAK = ("import ctypes, os, resource, subprocess, sys, time\n"
        "ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "seconds = time.perf_counter() - t\n"
        "while True:\n"
        "    try:\n"
        "        os.wait()\n"
        "    except ChildProcessError:\n"
        "        break\n"
        "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(seconds, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)\n")

HUGO_CONFIG = """baseURL = "https://news.example.com/"
languageCode = "zh-CN"
title = "Bench"
disableKinds = ["sitemap", "robotsTXT", "404"]
[outputs]
home = ["RSS"]
section = ["RSS"]
taxonomy = ["RSS"]
term = ["RSS"]
page = []
[services.rss]
limit = 50
"""
# Full text in every item, as feedpub publishes it.
HUGO_RSS = """<rss version="2.0"><channel><title>{{ .Title }}</title><link>{{ .Permalink }}</link>
<description>{{ .Title }}</description>{{ range first 50 .Pages }}<item><title>{{ .Title }}</title>
<link>{{ .Permalink }}</link><pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" }}</pubDate>
<guid>{{ .Permalink }}</guid><description>{{ .Content | html }}</description></item>{{ end }}</channel></rss>
"""

# Items link to the site's own pages, as Hugo's do (Hugo's RSS-only build links
# to permalinks it does not render either); FEEDPUB_PAGES makes feedpub write
# an HTML page per article as well, its default for files without a link.
FEEDPUB_PAGES = """[site]
title = "Bench"
link = "https://news.example.com/"
feeds_url = "https://news.example.com/feeds/"
timezone = "Asia/Shanghai"
[output]
dir = "feeds"
max_items = 50
[store]
url = "sqlite:///state/feedpub.db"
[[sources]]
name = "corpus"
type = "folder"
path = "corpus"
"""
FEEDPUB_CONFIG = FEEDPUB_PAGES + 'link_template = "https://news.example.com/posts/{stem}/"\n'


def _env() -> dict:
    """feedpub as an installed copy runs: its bytecode cached (some machines set
    PYTHONDONTWRITEBYTECODE, which makes every process compile feedpub again)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, float]:
    """(seconds, peak RSS in MB, CPU seconds of it and every process it started) of one command."""
    out = subprocess.run([PY, "-c", PEAK, *cmd], cwd=cwd, capture_output=True, text=True, check=True,
                         env=_env())
    seconds, kb, cpu = out.stdout.split()
    return float(seconds), int(kb) / 1024, float(cpu)


def gen(out: Path, m: int, fmt: str) -> None:
    subprocess.run([PY, str(HERE / "gen_corpus.py"), str(out), "--articles", str(m), "--format", fmt], check=True)


def new_article(corpus: Path, n: int, fmt: str) -> None:
    ext = "md" if fmt == "markdown" else "txt"
    src = next((corpus / "c00").glob(f"*.{ext}"))
    text = src.read_text(encoding="utf-8").replace("第0號", f"新增{n}號")
    (corpus / "c00" / f"new{n:06d}.{ext}").write_text(text, encoding="utf-8")


def feedpub_round(work: Path, fmt: str, n: int) -> dict:
    for d in ("feeds", "state"):
        shutil.rmtree(work / d, ignore_errors=True)
    cmd = [PY, "-m", "feedpub", "build", "--config", str(work / "feedpub.toml")]
    cold = timed(cmd, work)
    new_article(work / "corpus", n, fmt)
    one = timed(cmd, work)
    quiet = timed(cmd, work)
    result = {"cold": cold, "one": one, "quiet": quiet}
    for mode in ("scan", "watch"):
        out = subprocess.run([PY, str(HERE / "tick.py"), str(work / "feedpub.toml"), str(work / "corpus" / "c01"),
                              "--rounds", "5"] + (["--watch"] if mode == "watch" else []), cwd=work,
                             capture_output=True, text=True, check=True, env=_env())
        ticks = json.loads(out.stdout)
        result[f"{mode}_one"] = (ticks["one_median"], ticks["peak_mb"], None)      # inside one process: no CPU apart
        result[f"{mode}_quiet"] = (ticks["quiet_median"], ticks["peak_mb"], None)
    return result


def hugo_round(site: Path) -> tuple[float, float, float]:
    shutil.rmtree(site / "public", ignore_errors=True)
    return timed(["hugo", "--quiet", "-s", str(site), "-d", str(site / "public")], site)


def fmt_stats(values: list[float]) -> str:
    return f"{statistics.median(values):8.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--large", action="store_true", help="also 200,000 articles")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1,000 articles, one round: keeps the script working")
    ap.add_argument("--no-results", action="store_true", help="do not write bench/RESULTS.md")
    args = ap.parse_args()
    sizes = [1000] if args.quick else [int(s) for s in args.sizes.split(",")] + ([200_000] if args.large else [])
    reps = 1 if args.quick else args.reps
    hugo = shutil.which("hugo")
    lines = [f"command: {' '.join(['bench/run.py'] + sys.argv[1:])}",
             "hugo: " + (subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout.strip()
                         if hugo else "not installed (apt-get install hugo): absolute figures only")]
    header = (f"{'M':>7} {'scenario':<24}{'feedpub s (min-max)':>24}{'CPU s':>8}{'peak MB':>9}"
              f"{'Hugo s':>10}{'Hugo CPU':>9}{'Hugo MB':>9}{'ratio':>8}")
    lines += ["", header, "-" * len(header)]
    print("\n".join(lines), flush=True)
    for m in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            results: dict[str, list] = {k: [] for k in ("cold", "one", "quiet", "scan_one", "scan_quiet",
                                                        "watch_one", "watch_quiet", "text", "pages")}
            hugo_times: list[tuple[float, float]] = []
            work = tmp / "md"
            work.mkdir()
            gen(work / "corpus", m, "markdown")
            (work / "feedpub.toml").write_text(FEEDPUB_CONFIG, encoding="utf-8")
            text_work = tmp / "txt"
            text_work.mkdir()
            gen(text_work / "corpus", m, "textdump")
            (text_work / "feedpub.toml").write_text(FEEDPUB_CONFIG, encoding="utf-8")
            (tmp / "pages").mkdir()
            (tmp / "pages" / "corpus").symlink_to(work / "corpus")
            (tmp / "pages" / "feedpub.toml").write_text(FEEDPUB_PAGES, encoding="utf-8")
            if hugo:
                site = tmp / "hugo"
                (site / "layouts" / "_default").mkdir(parents=True)
                (site / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
                (site / "layouts" / "_default" / "rss.xml").write_text(HUGO_RSS, encoding="utf-8")
                shutil.copytree(work / "corpus", site / "content" / "posts")
            for r in range(reps):                          # alternate the systems round by round
                if hugo:
                    hugo_times.append(hugo_round(site))
                rnd = feedpub_round(work, "markdown", r)
                for k in ("cold", "one", "quiet", "scan_one", "scan_quiet", "watch_one", "watch_quiet"):
                    results[k].append(rnd[k])
                for key, where in (("text", text_work), ("pages", tmp / "pages")):
                    for d in ("feeds", "state"):
                        shutil.rmtree(where / d, ignore_errors=True)
                    results[key].append(timed([PY, "-m", "feedpub", "build", "--config",
                                               str(where / "feedpub.toml")], where))
            h = statistics.median(t for t, _, _ in hugo_times) if hugo_times else None
            hm = max(mb for _, mb, _ in hugo_times) if hugo_times else None
            hc = statistics.median(c for _, _, c in hugo_times) if hugo_times else None
            cold_med = statistics.median(t for t, _, _ in results["cold"])
            for key, label in (("cold", "cold full build"), ("one", "one new article"), ("quiet", "nothing new"),
                               ("scan_one", "tick: one new (scan)"), ("scan_quiet", "tick: nothing new (scan)"),
                               ("watch_one", "tick: one new (watch)"), ("watch_quiet", "tick: nothing new (watch)"),
                               ("text", "cold, text dumps"), ("pages", "cold, own article pages")):
                secs = [t for t, _, _ in results[key]]
                peak = max(mb for _, mb, _ in results[key])
                cpus = [c for _, _, c in results[key] if c is not None]
                cpu = f"{statistics.median(cpus):8.2f}" if cpus else "       -"
                ratio = f"{statistics.median(secs) / h:7.2f}x" if h else "      -"
                if key in ("text", "pages"):
                    ratio = f"{statistics.median(secs) / cold_med:6.2f}xmd"
                row = (f"{m:>7} {label:<24}{fmt_stats(secs):>24}{cpu}{peak:>9.0f}"
                       f"{(f'{h:10.2f}' if h else '         -')}{(f'{hc:9.2f}' if hc else '        -')}"
                       f"{(f'{hm:9.0f}' if hm else '        -')}{ratio:>8}")
                print(row, flush=True)
                lines.append(row)
    if not args.no_results and not args.quick:
        results_md = HERE / "RESULTS.md"
        text = results_md.read_text(encoding="utf-8") if results_md.exists() else "# Benchmark results\n"
        start, end = "<!-- run.py -->", "<!-- /run.py -->"
        block = f"{start}\n## feedpub against Hugo (bench/run.py)\n\n```\n" + "\n".join(lines) + f"\n```\n{end}"
        if start in text:
            text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        results_md.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
