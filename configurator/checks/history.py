"""Drift history in SQLite: each finding (host, subject) is new, still present (since when) or resolved.

A host that could not be checked this run (unreachable, failed) keeps its open findings: not
seeing drift on a host we could not reach is not the same as the drift being gone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

Key = tuple[str, str]  # (host, subject)
KEEP_DAYS = 400  # runs and resolved findings older than this are pruned (a year of nightly runs, and some)

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS findings (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    subject TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    resolved TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS open_findings ON findings (host, subject) WHERE resolved IS NULL;
"""


@dataclass(frozen=True)
class Row:
    """One finding's life: when it was first and last seen, when resolved, and its (redacted) evidence."""

    host: str
    subject: str
    first_seen: str
    last_seen: str
    resolved: str | None
    detail: str


@dataclass(frozen=True)
class Classes:
    """This run's findings by class; `still` and `resolved` map each key to when it was first seen."""

    new: frozenset[Key] = frozenset()
    still: dict[Key, str] = field(default_factory=dict)
    resolved: dict[Key, str] = field(default_factory=dict)
    previous_run: str | None = None

    def state(self, key: Key) -> str:
        """`new` or `still` for a current finding."""
        return "new" if key in self.new else "still"


def classify(current: Iterable[Key], open_: dict[Key, str], checked: Iterable[str]) -> Classes:
    """Pure: today's findings against the open ones (key -> first seen), for the hosts actually checked."""
    now = set(current)
    hosts = set(checked)
    return Classes(
        new=frozenset(k for k in now if k not in open_),
        still={k: since for k, since in open_.items() if k in now},
        resolved={k: since for k, since in open_.items() if k not in now and k[0] in hosts},
    )


class History:
    """The history file of one report directory."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.executescript(SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(findings)")}
        if "detail" not in columns:  # a history kept before findings carried their evidence
            self.db.execute("ALTER TABLE findings ADD COLUMN detail TEXT NOT NULL DEFAULT ''")

    def open_findings(self) -> dict[Key, str]:
        """Findings not resolved yet: key -> first seen."""
        rows = self.db.execute("SELECT host, subject, first_seen FROM findings WHERE resolved IS NULL")
        return {(host, subject): since for host, subject, since in rows}

    def last_run(self) -> str | None:
        """When the previous run was, if any."""
        row = self.db.execute("SELECT at FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return str(row[0]) if row else None

    def record(self, current: Iterable[Key], checked: Iterable[str], at: str,
               details: dict[Key, str] | None = None) -> Classes:
        """Classify this run's findings and store them with their latest (redacted) evidence, in one transaction."""
        found = set(current)
        details = details or {}
        previous = self.last_run()
        classes = classify(found, self.open_findings(), checked)
        with self.db:
            self.db.execute("INSERT INTO runs (at) VALUES (?)", (at,))
            self.db.executemany("INSERT INTO findings (host, subject, first_seen, last_seen, detail) "
                                "VALUES (?, ?, ?, ?, ?)",
                                [(h, s, at, at, details.get((h, s), "")) for h, s in sorted(classes.new)])
            self.db.executemany("UPDATE findings SET last_seen = ?, detail = ? "
                                "WHERE host = ? AND subject = ? AND resolved IS NULL",
                                [(at, details.get((h, s), ""), h, s) for h, s in sorted(classes.still)])
            self.db.executemany("UPDATE findings SET resolved = ? WHERE host = ? AND subject = ? AND resolved IS NULL",
                                [(at, h, s) for h, s in sorted(classes.resolved)])
        return replace(classes, previous_run=previous)

    def prune(self, before: str) -> int:
        """Forget the runs before `before` and the findings resolved before it; open ones stay. Returns how
        many findings were forgotten."""
        with self.db:
            self.db.execute("DELETE FROM runs WHERE at < ?", (before,))
            return self.db.execute("DELETE FROM findings WHERE resolved IS NOT NULL AND resolved < ?",
                                   (before,)).rowcount

    def rows(self, host: str | None = None, since: str | None = None) -> list[Row]:
        """Findings (of `host`) seen at or after `since`, oldest first."""
        query = "SELECT host, subject, first_seen, last_seen, resolved, detail FROM findings WHERE 1=1"
        params: list[str] = []
        if host:
            query += " AND host = ?"
            params.append(host)
        if since:
            query += " AND (last_seen >= ? OR resolved >= ?)"
            params += [since, since]
        return [Row(*row) for row in self.db.execute(query + " ORDER BY first_seen, host, subject", params)]

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
