"""Is a change faster? Times an earlier commit against the working tree on one
corpus, alternating them, so both meet the same machine.

    .venv/bin/python bench/against.py BASE [--articles 10000] [--rounds 5]

BASE is any git revision (it runs from a temporary `git worktree`, with the
same virtual environment). Both sides build the same seeded corpus
(bench/gen_corpus.py, Markdown, the configuration of bench/run.py) into
their own output folder and store: one cold build each, then per round one
new article (the same file for both) and a build with nothing new, the
order of the two sides swapped every round. Prints medians with min-max
and the peak RSS of each side's processes. bench/same_output.py says whether
the output stayed the same.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from run import FEEDPUB_CONFIG, PEAK, _env, gen, new_article  # noqa: E402


def timed_build(src: Path, work: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one `feedpub build` process."""
    out = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-m", "feedpub", "build", "--config",
                          str(work / "feedpub.toml")], cwd=work, env=dict(_env(), PYTHONPATH=str(src)),
                         check=True, capture_output=True, text=True)
    seconds, kb, _cpu = out.stdout.split()
    return float(seconds), int(kb) / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base")
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="feedpub-against-") as tmp:
        tmp = Path(tmp)
        tree = tmp / "base-tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), args.base], check=True)
        try:
            sides = {args.base: tree / "src", "working tree": ROOT / "src"}
            gen(tmp / "corpus", args.articles, "markdown")
            works = {}
            for n, side in enumerate(sides):
                work = works[side] = tmp / f"side{n}"
                work.mkdir()
                (work / "corpus").symlink_to(tmp / "corpus")           # one corpus: the new article lands in both
                (work / "feedpub.toml").write_text(FEEDPUB_CONFIG, encoding="utf-8")
            results = {side: {"cold": [], "one new article": [], "nothing new": []} for side in sides}
            for side, src in sides.items():
                results[side]["cold"].append(timed_build(src, works[side]))
            order = list(sides)
            for r in range(args.rounds):
                new_article(tmp / "corpus", 100_000 + r, "markdown")
                for side in order:
                    results[side]["one new article"].append(timed_build(sides[side], works[side]))
                for side in order:
                    results[side]["nothing new"].append(timed_build(sides[side], works[side]))
                order.reverse()
            print(f"{args.articles} articles, {args.rounds} round(s); seconds: median (min-max), peak MB")
            for scenario in ("cold", "one new article", "nothing new"):
                for side in sides:
                    runs = results[side][scenario]
                    secs = [s for s, _ in runs]
                    print(f"  {scenario:<16} {side:<14} {statistics.median(secs):7.3f} "
                          f"({min(secs):.3f}-{max(secs):.3f}) {max(mb for _, mb in runs):6.0f} MB")
            return 0
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


if __name__ == "__main__":
    sys.exit(main())
