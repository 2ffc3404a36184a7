"""Imported by the multiprocessing forkserver when it starts (its preload):
the forkserver then ends when the publisher that started it does, kill -9
included, and takes its workers with it (they hold the same signal on it).

Left alone, a forkserver whose publisher died lives on, and so do its
workers, which may still be writing temporary files into an output folder
that a new publisher already cleaned up.
"""

from __future__ import annotations

from .workers import arm_parent_death_signal

arm_parent_death_signal()
