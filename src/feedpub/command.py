"""The `feedpub` command.

A plain `feedpub build` that finds nothing new, what a cron job runs every
few minutes, is answered here before the configuration's code and the
pipeline are imported (`unchanged.early`); everything else goes to `cli`.
"""

from __future__ import annotations

import sys
import time


def main(argv: list[str] | None = None) -> int:
    from . import unchanged

    argv = sys.argv[1:] if argv is None else list(argv)
    found = unchanged.early(argv, time.monotonic)
    if found is not None and found.known is not None:
        print(unchanged.summary(found))
        return 0
    from .cli import main as full
    return full(argv, early=found)
