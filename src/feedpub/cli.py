"""The command line: `feedpub check` and `feedpub build`.

Exit status: 0 done (problems with single files are reported, not fatal),
2 the configuration or the store cannot be used.
"""

from __future__ import annotations

import argparse
import logging
import sys

from . import __version__, config
from .build import build
from .normalize import categories as cat_rules
from .sources.folder import FolderSource
from .store import StoreError


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="feedpub", description="Publish RSS and Atom feeds per category.")
    ap.add_argument("--version", action="version", version=f"feedpub {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", "-c", default=None,
                       help=f"configuration file (default: {config.DEFAULT_CONFIG})")
        p.add_argument("--verbose", "-v", action="store_true", help="say more")
        return p

    with_config(sub.add_parser("check", help="validate the configuration; list sources and categories"))
    b = with_config(sub.add_parser("build", help="gather new articles and regenerate the feeds once"))
    b.add_argument("--full", action="store_true", help="re-read every file, not only new or changed ones")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s: %(message)s" if args.verbose else "%(message)s",
                        stream=sys.stderr)
    try:
        settings = config.load(args.config)
    except config.ConfigError as exc:
        print(f"feedpub: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "check":
            return _check(settings)
        summary = build(settings, full=args.full)
    except StoreError as exc:
        print(f"feedpub: {exc}", file=sys.stderr)
        return 2
    print(summary.line())
    print(f"feeds in {settings.output.dir}")
    return 0


def _check(settings: config.Settings) -> int:
    """What `build` would publish, read from the sources, without writing anything."""
    from collections import Counter
    from datetime import datetime, timezone

    from .normalize import normalize
    from .sources.folder import SourceError

    print(f"configuration {settings.path}: OK")
    print(f"site: {settings.site.title} <{settings.site.link}>, feeds at {settings.site.feeds_url}")
    print(f"output: {settings.output.dir} (newest {settings.output.max_items} per feed)")
    print(f"store: {settings.store.url}")
    now = datetime.now(timezone.utc)
    tally: Counter = Counter()
    shown: dict[str, tuple[str, str]] = {}
    problems = 0
    for src in settings.sources:
        source = FolderSource(src)
        files = source.scan()
        print(f"source {src.name!r}: {src.type} {src.path}, {len(files)} article file(s), zone {src.timezone}")
        for state in files:
            try:
                raws = source.read(state)
            except SourceError as exc:
                print(f"  problem: {src.path / state.location}: {exc}")
                problems += 1
                continue
            for raw in raws:
                article, probs = normalize(raw, now=now)
                for p in probs:
                    print(f"  {p.severity}: {src.path / state.location}: {p.reason}")
                    problems += 1
                for path in article.categories if article else ():
                    for prefix in path.prefixes():
                        tally[prefix.key] += 1
                        shown.setdefault(prefix.key, (" › ".join(prefix.levels), "/".join(prefix.slugs)))
    overrides = {cat_rules.key_of(k): v for k, v in settings.categories.items()}
    print(f"categories it would publish: {len(tally)}")
    for key in sorted(tally):
        display, slug = shown[key]
        ov = overrides.get(key)
        print(f"  {ov.title if ov and ov.title else display}  ->  {ov.slug if ov and ov.slug else slug}/"
              f"  ({tally[key]} article(s))")
    print(f"problems: {problems}")
    return 0
