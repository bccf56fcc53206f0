"""What a benchmark run costs, read from outside the gateway: CPU and RSS of process trees from
/proc, Postgres backends of the bench database, and the per-process counters of bench/probe.py.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class ProcStat:
    ppid: int
    start: int  # starttime in ticks: tells a reused pid apart
    cpu: float  # user + system seconds of this process alone
    rss: int  # bytes


def read_stat(pid: int) -> ProcStat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after its last ')'.
    fields = raw[raw.rindex(")") + 2:].split()
    return ProcStat(ppid=int(fields[1]), start=int(fields[19]),
                    cpu=(int(fields[11]) + int(fields[12])) / TICK,
                    rss=int(fields[21]) * PAGE)


def all_stats() -> dict[int, ProcStat]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_stat(int(entry))
            if stat is not None:
                out[int(entry)] = stat
    return out


@dataclass
class Tracked:
    group: str
    start: int
    cpu_at_window: float  # 0 for a process born inside the window
    cpu_last: float
    rss_first: int
    rss_last: int


@dataclass
class Sampler:
    """Samples the process trees under `roots` (group -> root pid) and the Postgres backends
    of one database, every `interval` seconds, from `begin()` to `end()`."""

    roots: dict[str, int]
    pg_db: str | None = None
    pg_exclude: set[int] = field(default_factory=set)
    interval: float = 1.0
    tracked: dict[int, Tracked] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _pg: object = None

    def _pg_backends(self) -> set[int]:
        if self.pg_db is None:
            return set()
        if self._pg is None:
            import psycopg
            from _stack import PG

            self._pg = psycopg.connect(f"{PG}/postgres", autocommit=True)
        rows = self._pg.execute(  # type: ignore[attr-defined]
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.pg_db]).fetchall()
        return {r[0] for r in rows} - self.pg_exclude

    def sample(self, first: bool = False) -> None:
        stats = all_stats()
        children: dict[int, list[int]] = {}
        for pid, st in stats.items():
            children.setdefault(st.ppid, []).append(pid)
        groups: dict[int, str] = {}
        for group, root in self.roots.items():
            stack = [root]
            while stack:
                pid = stack.pop()
                if pid in stats:
                    groups[pid] = group
                    stack.extend(children.get(pid, []))
        for pid in self._pg_backends():
            if pid in stats:
                groups[pid] = "postgres"
        for pid, group in groups.items():
            st = stats[pid]
            seen = self.tracked.get(pid)
            if seen is None or seen.start != st.start:
                self.tracked[pid] = Tracked(group, st.start, st.cpu if first else 0.0, st.cpu,
                                            st.rss, st.rss)
            else:
                seen.cpu_last, seen.rss_last = st.cpu, st.rss

    def begin(self) -> None:
        self.sample(first=True)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def end(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.sample()

    def cpu(self, group: str) -> float:
        return sum(t.cpu_last - t.cpu_at_window for t in self.tracked.values()
                   if t.group == group)

    def rss(self, group: str) -> tuple[int, int]:
        """Resident bytes of the group's processes at the first and the last sample."""
        ts = [t for t in self.tracked.values() if t.group == group]
        return sum(t.rss_first for t in ts), sum(t.rss_last for t in ts)


def pg_totals(db: str) -> tuple[int, int]:
    """(transactions, sessions opened) of one database so far, from pg_stat_database."""
    import psycopg
    from _stack import PG

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit + xact_rollback, sessions FROM pg_stat_database "
                           "WHERE datname = %s", [db]).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


# --- bench/probe.py counters

@dataclass
class Counts:
    sql: Counter[str] = field(default_factory=Counter)
    published: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    connects: Counter[str] = field(default_factory=Counter)
    db_connects: Counter[str] = field(default_factory=Counter)  # by role
    sql_by_role: Counter[str] = field(default_factory=Counter)


def read_counts(directory: Path) -> dict[int, dict]:
    out = {}
    for path in directory.glob("*.json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        out[data["pid"]] = data
    return out


def counts_delta(before: dict[int, dict], after: dict[int, dict]) -> Counts:
    """What every process counted between two readings (a process new since `before`: all)."""
    total = Counts()
    for pid, data in after.items():
        old = before.get(pid, {})
        new = sum(data.get("db_connects", {}).values())
        total.db_connects[data["role"]] += new - sum(old.get("db_connects", {}).values())
        for kind in ("sql", "published", "requests", "connects"):
            counter: Counter[str] = getattr(total, kind)
            prior = old.get(kind, {})
            for key, n in data[kind].items():
                if n - prior.get(key, 0):
                    counter[key] += n - prior.get(key, 0)
                    if kind == "sql":
                        total.sql_by_role[data["role"]] += n - prior.get(key, 0)
    return total


_SAVEPOINT = re.compile(r'"s\d+_x\d+"')
_PLACEHOLDERS = re.compile(r"%s(?:, %s)+")


def normalize(sql: str) -> str:
    sql = _SAVEPOINT.sub('"sN"', sql)
    return _PLACEHOLDERS.sub("%s, ...", sql)


def by_statement(sql: Counter[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for text, n in sql.items():
        out[normalize(text)] += n
    return out


def short(sql: str, width: int = 150) -> str:
    """A statement's gist: verb and tables, cut to `width`."""
    sql = re.sub(r"\s+", " ", sql)
    sql = re.sub(r'"[a-z_]+"\."([a-z_]+)"', r"\1", sql)  # "table"."col" -> col
    return sql if len(sql) <= width else sql[: width - 3] + "..."


def wait_for_flush() -> None:
    time.sleep(1.6)  # the probe writes every second
