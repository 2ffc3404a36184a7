"""Regenerations one at a time, the changes of gathers that end meanwhile
merged into the next: many sources ending together are a few
regenerations, each change covered, none of another gather's in-flight
changes taken for a dead run's."""

from __future__ import annotations

import sqlite3
import threading

from conftest import dump, wait_for
from feedpub.coalesce import Changes, Regenerations


def changes(cats, arts=(), token="t"):
    return Changes(None if cats is None else frozenset(cats), None if arts is None else frozenset(arts),
                   frozenset({token}))


def test_changes_merge_and_unknown_absorbs():
    a, b = changes({"x"}, {1}, "a"), changes({"y"}, {2}, "b")
    assert a | b == Changes(frozenset({"x", "y"}), frozenset({1, 2}), frozenset({"a", "b"}))
    assert (a | changes(None, {3}, "c")).categories is None
    assert (a | changes({"z"}, None, "c")).articles is None


def test_gathers_ending_during_a_regeneration_are_covered_by_one_more():
    regens = Regenerations()
    rendered: list[tuple[Changes, frozenset]] = []
    entered, release = threading.Event(), threading.Event()

    def render(todo, in_flight):
        rendered.append((todo, in_flight))
        if len(rendered) == 1:
            entered.set()
            release.wait(10)
        return len(rendered)

    for token in ("a", "b", "c", "d", "late"):
        regens.begin(token)
    results = {}
    first = threading.Thread(target=lambda: results.update(a=regens.hand_over("a", changes({"x"}, {1}, "a"), render)))
    first.start()
    assert entered.wait(10)
    # While "a" renders, three more gathers end: none waits, none renders.
    for token, cat in (("b", "y"), ("c", "z"), ("d", "y")):
        assert regens.hand_over(token, changes({cat}, {ord(cat)}, token), render) == []
    release.set()
    first.join(10)
    assert results["a"] == [1, 2]                      # the first thread ran both regenerations
    assert [r[0] for r in rendered] == [changes({"x"}, {1}, "a"),
                                        Changes(frozenset({"y", "z"}), frozenset({ord("y"), ord("z")}),
                                                frozenset({"b", "c", "d"}))]
    # A gather still under way is known to each regeneration, and stays so until it hands over.
    assert rendered[0][1] == frozenset({"b", "c", "d", "late"}) and rendered[1][1] == frozenset({"late"})
    assert regens.hand_over("late", changes({"q"}, token="late"), render) == [3]   # none running: its own


def test_a_failed_regeneration_lets_the_next_gather_render():
    regens = Regenerations()

    def broken(todo, in_flight):
        raise OSError("disk full")

    try:
        regens.hand_over("a", changes({"x"}, token="a"), broken)
    except OSError:
        pass
    else:
        raise AssertionError("the regeneration's failure is the gather's")
    assert regens.hand_over("b", changes({"y"}, token="b"), lambda todo, f: todo) == [changes({"y"}, token="b")]


def test_close_waits_for_the_running_regeneration_and_refuses_the_rest():
    regens = Regenerations()
    entered, release, closed = threading.Event(), threading.Event(), threading.Event()

    def render(todo, in_flight):
        entered.set()
        release.wait(10)
        return "done"

    t = threading.Thread(target=regens.hand_over, args=("a", changes({"x"}, token="a"), render))
    t.start()
    assert entered.wait(10)
    closer = threading.Thread(target=lambda: (regens.close(), closed.set()))
    closer.start()
    wait_for(lambda: regens.closed)
    assert not closed.is_set()                         # the regeneration in progress finishes its writes
    assert regens.hand_over("b", changes({"y"}, token="b"), render) == []
    release.set()
    closer.join(10)
    t.join(10)
    assert closed.is_set()
    assert regens.hand_over("c", changes({"z"}, token="c"), render) == []   # nothing renders after close


HYXW = "首頁 > 物流資訊 > 行業新聞"
GKHY = "首頁 > 物流資訊 > 港口航運"


def _pending(site) -> str:
    db = sqlite3.connect(site.root / "state" / "feedpub.db")
    try:
        row = db.execute("SELECT value FROM meta WHERE name = 'publish_pending'").fetchone()
        return (row[0] if row else "").strip()
    finally:
        db.close()


def test_another_gathers_changes_in_flight_are_not_a_dead_runs(site):
    """A gather of this process that stored but has not handed over yet:
    the regeneration renders only what it was given and leaves that
    gather's pending mark for its own turn; a mark no gather of this
    process owns is a dead run's and makes it render everything."""
    from feedpub.build import open_store
    from feedpub.regenerate import regenerate
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    site.write("b.txt", dump(GKHY, "乙", "2020/6/2 10:00:00", "來處"))
    site.build()
    settings = site.settings()
    store = open_store(settings)
    db = sqlite3.connect(site.root / "state" / "feedpub.db")
    db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('publish_pending', ' other')")
    db.commit()
    db.close()
    try:
        quiet = regenerate(settings, store, changed_categories=set(), changed_articles=set(),
                           tokens=frozenset({"mine"}), in_flight=frozenset({"other"}))
        assert quiet.written == 0 and _pending(site) == "other"        # not rendered, not cleared
        dead = regenerate(settings, store, changed_categories=set(), changed_articles=set(),
                          tokens=frozenset({"mine"}))
        assert dead.written == 0 and dead.unchanged > 0 and _pending(site) == ""   # everything rendered
    finally:
        store.close()


def test_no_change_is_left_waiting_however_gathers_interleave():
    """Many gathers handing over at once, regenerations quick: when all have
    returned, every change was rendered by someone, none left waiting (a
    regeneration that stops must do so in the same turn of the lock as its
    last look for work)."""
    regens = Regenerations()
    rendered: list[str] = []
    guard = threading.Lock()

    def render(todo, in_flight):
        with guard:
            rendered.extend(todo.tokens)
        return None

    def gathers(n: int) -> None:
        for i in range(400):
            token = f"{n}-{i}"
            regens.begin(token)
            regens.hand_over(token, changes({f"c{i % 7}"}, {i}, token), render)

    import sys
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)                      # threads switch as often as the interpreter lets them
    try:
        threads = [threading.Thread(target=gathers, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(switch)
    assert sorted(rendered) == sorted(f"{n}-{i}" for n in range(8) for i in range(400))


class _PausingLock:
    """A lock that, the first time `thread` lets it go after `armed` is
    set, runs `between()` right then: another gather's turn, in the
    narrowest window there is."""

    def __init__(self):
        self._lock = threading.Lock()
        self.thread = None
        self.armed = False
        self.between = None

    def acquire(self, blocking=True, timeout=-1):
        return self._lock.acquire(blocking, timeout)

    def release(self):
        self._lock.release()
        if self.armed and threading.current_thread() is self.thread:
            self.armed = False
            self.between()

    __enter__ = acquire

    def __exit__(self, *exc):
        self.release()


def test_a_gather_handing_over_as_a_regeneration_stops_is_never_stranded():
    """The regeneration's last look for work and its stopping are one turn
    of the lock: a gather that hands over right after that look runs a
    regeneration of its own instead of leaving its change waiting."""
    regens = Regenerations()
    lock = _PausingLock()
    regens._mutex, regens._idle = lock, threading.Condition(lock)
    rendered: list[str] = []
    late: list = []

    def render(todo, in_flight):
        rendered.extend(todo.tokens)
        lock.armed = True                          # the next time the renderer lets go of the lock …
        return None

    def other_gather():                            # … another gather hands its change over
        t = threading.Thread(target=lambda: late.append(regens.hand_over("late", changes({"y"}, token="late"),
                                                                         render)))
        t.start()
        t.join(10)

    lock.thread, lock.between = threading.current_thread(), other_gather
    regens.hand_over("first", changes({"x"}, token="first"), render)
    assert "late" in rendered, "the late gather's change was left waiting"
