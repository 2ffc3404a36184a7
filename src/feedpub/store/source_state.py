"""What each source remembers between gathers (files seen, HTTP validators),
how its gathers went, and the problems it met."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..model import Problem
from .schema import origins, problems, processes, source_memory, source_status, web_hosts


class SourceState:
    """Store methods (on `self.engine`): how sources fared, what they remember."""

    def record_run(self, source: str, hosts: dict | None = None, **run) -> int:
        """Remember how a gather went (and what it asked of each host);
        returns the failures in a row (0 on success)."""
        with self.begin() as conn:
            _count_hosts(conn, hosts or {})
            return _record_run(conn, source, **run)

    def record_runs(self, runs: list[tuple[str, dict]], hosts: dict | None = None) -> None:
        """`record_run` for each (source, run), in one transaction (a build's)."""
        if runs or hosts:
            with self.begin() as conn:
                _count_hosts(conn, hosts or {})
                for source, run in runs:
                    _record_run(conn, source, **run)

    def set_next_run(self, source: str, when: datetime | None) -> None:
        with self.begin() as conn:
            conn.execute(source_status.update().where(source_status.c.source == source).values(next_run=when))

    def article_counts(self) -> dict[str, int]:
        """Per source, the files and pages its articles came from (a COUNT over
        every origin: its cost grows with the archive)."""
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(origins.c.source, sa.func.count()).group_by(origins.c.source)).all())

    def status(self, counts: dict[str, int] | None = None) -> dict:
        """Everything `feedpub status` shows: per source, per process.
        `counts`: article_counts() read earlier, when that is recent enough."""
        counts = self.article_counts() if counts is None else counts
        with self.engine.connect() as conn:
            rows = {r.source: dict(r._mapping) for r in conn.execute(sa.select(source_status))}
            open_problems = dict(conn.execute(sa.select(problems.c.source, sa.func.count())
                                              .where(problems.c.severity == "error")
                                              .group_by(problems.c.source)).all())
            open_warnings = dict(conn.execute(sa.select(problems.c.source, sa.func.count())
                                              .where(problems.c.severity == "warning")
                                              .group_by(problems.c.source)).all())
            procs = [dict(r._mapping) for r in conn.execute(sa.select(processes).order_by(processes.c.host,
                                                                                          processes.c.pid))]
        for name in set(counts) | set(open_problems) | set(open_warnings):
            rows.setdefault(name, {"source": name})
        for name, row in rows.items():
            row["articles"] = counts.get(name, 0)
            row["open_errors"] = open_problems.get(name, 0)
            row["open_warnings"] = open_warnings.get(name, 0)
        return {"sources": [rows[k] for k in sorted(rows)], "processes": procs, "hosts": self.web_hosts()}

    def web_hosts(self) -> list[dict]:
        """Per host: requests, 304 answers, seconds on the network, in all."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(web_hosts).order_by(web_hosts.c.host))]

    def remembering(self) -> set[str]:
        """The sources that remember something of an earlier gather."""
        c = source_memory.c
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(c.source).distinct()).scalars())

    def sources_with_problems(self) -> set[str]:
        """The sources whose last gather left problems of its own (replaced by the next)."""
        c = problems.c
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(c.source).where(c.whole_source.is_(True)).distinct()).scalars())

    def problem_locations(self, source: str) -> set[str]:
        """Locations of a source with recorded problems, and the files they
        are in (`a.json` for `a.json#3`): only those need clearing on a re-read."""
        found = set()
        with self.engine.connect() as conn:
            for loc in conn.execute(sa.select(problems.c.location).where(problems.c.source == source)
                                    .distinct()).scalars():
                found.add(loc)
                while "#" in loc:
                    loc = loc.rpartition("#")[0]
                    found.add(loc)
        return found

    def memory(self, source: str, keys=None) -> dict[str, str]:
        """What a source remembered (all of it, or what it holds for `keys`),
        as the opaque values its type wrote."""
        c = source_memory.c
        q = sa.select(c.key, c.value).where(c.source == source)
        with self.engine.connect() as conn:
            if keys is None:
                # Rows straight into the dict, with no list of them first (iter():
                # a Result has keys(), which dict() would take for a mapping's).
                return dict(iter(conn.execute(q)))
            keys, out = sorted(keys), {}
            for chunk in (keys[i:i + 500] for i in range(0, len(keys), 500)):
                out.update(conn.execute(q.where(c.key.in_(chunk))).all())
            return out


class SourceWrites:
    """Transaction methods (on `self.conn`): what sources remember and the
    problems they met, written with the articles they came with."""

    def remember(self, source: str, values: dict[str, str]) -> None:
        """Set what a source remembers under these keys (the rest stays)."""
        if not values:
            return
        c = source_memory.c
        items = sorted(values.items())
        for chunk in (items[i:i + 500] for i in range(0, len(items), 500)):
            self.conn.execute(source_memory.delete().where(c.source == source, c.key.in_([k for k, _ in chunk])))
            self.conn.execute(source_memory.insert(), [dict(source=source, key=k, value=v) for k, v in chunk])

    def forget(self, source: str, keys) -> None:
        """Forget what a source remembered under these keys (read again next time)."""
        c = source_memory.c
        keys = sorted(keys)
        for chunk in (keys[i:i + 500] for i in range(0, len(keys), 500)):
            self.conn.execute(source_memory.delete().where(c.source == source, c.key.in_(chunk)))

    def clear_problems(self, source: str, location: str) -> None:
        """A file read again starts with a clean slate."""
        self.conn.execute(problems.delete().where(problems.c.source == source,
                                                  sa.or_(problems.c.location == location,
                                                         problems.c.location.like(like_prefix(location), escape="\\"))))

    def record_problem(self, p: Problem, now: datetime, whole_source: bool = False) -> None:
        c = problems.c
        hit = self.conn.execute(sa.select(c.pk).where(c.source == p.source, c.location == p.location,
                                                      c.reason == p.reason, c.whole_source == whole_source)).scalar()
        if hit is None:
            self.conn.execute(problems.insert().values(source=p.source, location=p.location, reason=p.reason,
                                                       severity=p.severity, first_seen=now, last_seen=now,
                                                       count=1, whole_source=whole_source))
        else:
            self.conn.execute(problems.update().where(c.pk == hit).values(last_seen=now, count=c.count + 1))

    def replace_source_problems(self, source: str, found: list[Problem], now: datetime) -> None:
        """A gather's own problems (not a file's or a page's) replace the
        last gather's: what `status` shows is what is wrong now. One seen
        again keeps when it was first seen and counts up."""
        c = problems.c
        again = {(p.location, p.reason) for p in found}
        stale = [pk for pk, location, reason in self.conn.execute(
            sa.select(c.pk, c.location, c.reason).where(c.source == source, c.whole_source.is_(True)))
            if (location, reason) not in again]
        for chunk in (stale[i:i + 500] for i in range(0, len(stale), 500)):
            self.conn.execute(problems.delete().where(c.pk.in_(chunk)))
        for p in found:
            self.record_problem(p, now, whole_source=True)


def like_prefix(location: str) -> str:
    escaped = location.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "#%"


def _record_run(conn, source: str, *, ended: datetime, duration: float, new: int = 0, updated: int = 0,
                problems: int = 0, error: str | None = None, next_run: datetime | None = None) -> int:
    """One run's record in a transaction: the failures in a row after it."""
    c = source_status.c
    row = conn.execute(sa.select(source_status).where(c.source == source)).first()
    values = dict(last_run=ended, last_duration=duration, next_run=next_run,
                  runs=(row.runs if row else 0) + 1)
    if error is None:
        values.update(last_success=ended, failures=0, last_new=new, last_updated=updated,
                      last_problems=problems)
    else:
        values.update(last_error=error, last_error_at=ended, failures=(row.failures if row else 0) + 1)
    if row is None:
        conn.execute(source_status.insert().values(source=source, **{
            "failures": 0, "last_new": 0, "last_updated": 0, "last_problems": 0, **values}))
    else:
        conn.execute(source_status.update().where(c.source == source).values(**values))
    return values.get("failures", 0)


def _count_hosts(conn, stats: dict) -> None:
    """Add requests, 304s and seconds on the network per host to the totals."""
    c = web_hosts.c
    for host, (requests, not_modified, seconds) in sorted(stats.items()):
        if not conn.execute(web_hosts.update().where(c.host == host).values(
                requests=c.requests + requests, not_modified=c.not_modified + not_modified,
                network_seconds=c.network_seconds + seconds)).rowcount:
            conn.execute(web_hosts.insert().values(host=host, requests=requests, not_modified=not_modified,
                                                   network_seconds=seconds))
