"""Does a change keep feedpub's output byte for byte? Builds one corpus with
an earlier commit and with the working tree, and compares every file.

    .venv/bin/python bench/same_output.py BASE [--articles 1000] [--format markdown|textdump] [--pages]

BASE is any git revision (e.g. HEAD~3). Each side builds the same seeded
corpus (bench/gen_corpus.py) into its own output folder and store: a cold
build, then one new article, then a build with nothing new, comparing the
output after each step. The earlier commit runs from a temporary
`git worktree`, with the same virtual environment. Prints the differing
files (at most 20 per step) and exits 1 if any step differs.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from run import FEEDPUB_CONFIG, FEEDPUB_PAGES, gen, new_article  # noqa: E402


def build(src: Path, work: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(src))
    subprocess.run([sys.executable, "-m", "feedpub", "build", "--config", str(work / "feedpub.toml")],
                   cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)


def differences(a: Path, b: Path) -> list[str]:
    files_a = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()}
    out = [f"only in {BASE_NAME}: {f}" for f in sorted(files_a - files_b)]
    out += [f"only in the working tree: {f}" for f in sorted(files_b - files_a)]
    out += [f"differs: {f}" for f in sorted(files_a & files_b) if not filecmp.cmp(a / f, b / f, shallow=False)]
    return out


BASE_NAME = "base"


def main() -> int:
    global BASE_NAME
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base")
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--format", choices=["markdown", "textdump"], default="markdown")
    ap.add_argument("--pages", action="store_true", help="feedpub writes an HTML page per article as well")
    args = ap.parse_args()
    BASE_NAME = args.base
    with tempfile.TemporaryDirectory(prefix="feedpub-same-") as tmp:
        tmp = Path(tmp)
        tree = tmp / "base-tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), args.base], check=True)
        try:
            sides = {"base": tree / "src", "new": ROOT / "src"}
            works = {}
            gen(tmp / "corpus", args.articles, args.format)
            for side in sides:
                work = works[side] = tmp / side
                work.mkdir()
                shutil.copytree(tmp / "corpus", work / "corpus")        # mtimes too: a file's is its gather time
                (work / "feedpub.toml").write_text(FEEDPUB_PAGES if args.pages else FEEDPUB_CONFIG, encoding="utf-8")
            failed = False
            for step in ("cold build", "one new article", "nothing new"):
                if step == "one new article":
                    for side in sides:
                        new_article(works[side] / "corpus", 1, args.format)
                    stamp = max(p.stat().st_mtime_ns for p in (works["base"] / "corpus").rglob("new*"))
                    for side in sides:
                        for p in (works[side] / "corpus").rglob("new*"):
                            os.utime(p, ns=(stamp, stamp))
                for side, src in sides.items():
                    build(src, works[side])
                diff = differences(works["base"] / "feeds", works["new"] / "feeds")
                files = sum(1 for p in (works["new"] / "feeds").rglob("*") if p.is_file())
                print(f"{step}: {files} files, {len(diff)} differ")
                for line in diff[:20]:
                    print("  " + line)
                failed |= bool(diff)
            return 1 if failed else 0
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


if __name__ == "__main__":
    sys.exit(main())
