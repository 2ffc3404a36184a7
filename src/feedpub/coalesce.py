"""Regenerations one at a time, the changes of gathers side by side merged.

`feedpub run` gathers many sources at once. Each gather that changed
something needs the feeds regenerated, and every regeneration renders the
all-channel: 500 ticks ending together must not be 500 regenerations one
after the other. A gather hands its changes over; if no regeneration is
running, it runs one itself, and goes on running one for whatever others
handed over meanwhile, until none is waiting. Regenerations stay one at a
time (feedgen switches the process locale; the output folder has one writer).

The gathers in flight are known here too: the changes they stored but have
not handed over yet are theirs, not a dead run's (which would make a
regeneration render everything), and are left pending for their own turn.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Changes:
    """What regenerations must cover: None is "unknown, render everything"."""
    categories: frozenset[str] | None
    articles: frozenset[int] | None
    tokens: frozenset[str]              # the gathers whose pending marks these changes clear

    def __or__(self, other: Changes) -> Changes:
        return Changes(None if self.categories is None or other.categories is None
                       else self.categories | other.categories,
                       None if self.articles is None or other.articles is None else self.articles | other.articles,
                       self.tokens | other.tokens)


class Regenerations:
    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._idle = threading.Condition(self._mutex)
        self._running = False
        self._closed = False
        self._waiting: Changes | None = None
        self._in_flight: set[str] = set()

    def begin(self, token: str) -> None:
        """A gather starts: what it stores is not a dead run's."""
        with self._mutex:
            self._in_flight.add(token)

    def end(self, token: str) -> None:
        """A gather ends without handing changes over (it failed, or found
        nothing): its pending mark, if any, is a dead run's from now on."""
        with self._mutex:
            self._in_flight.discard(token)

    def hand_over(self, token: str, changes: Changes, render: Callable[[Changes, frozenset[str]], object]) -> list:
        """Give a gather's changes to the regenerations; returns the results
        of those this thread ran (render(changes, in_flight) each), or []
        when the running one takes them, or after `close`: then they stay
        pending in the store for the next run."""
        with self._mutex:
            self._in_flight.discard(token)
            if self._closed:
                return []
            self._waiting = changes if self._waiting is None else self._waiting | changes
            if self._running:
                return []
            self._running = True
        results = []
        while True:
            with self._mutex:
                todo, self._waiting = self._waiting, None
                if todo is None or self._closed:
                    # Done, in the same turn of the lock as the last look: a
                    # gather handing over from here on runs its own.
                    self._stopped_running()
                    return results
                in_flight = frozenset(self._in_flight)
            try:
                results.append(render(todo, in_flight))
            except BaseException:
                with self._mutex:
                    self._stopped_running()
                raise

    def _stopped_running(self) -> None:
        self._running = False
        self._idle.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """No regeneration from here on; the one running finishes first."""
        with self._mutex:
            self._closed = True
            self._idle.wait_for(lambda: not self._running)
