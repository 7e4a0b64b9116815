"""Waivers: drift findings a team has accepted for a while (host, resource, reason, expiry).

A waived finding is still reported, marked waived, but does not make the run exit 2; from its
`expires` date on (00:00 UTC, or the exact time given) it counts as drift again. The file:

    - host: web1            # a host name or a glob (web*)
      resource: command[/usr/local/bin/rotate]   # the finding's subject, or a glob
      reason: rotated by the vendor's agent; ticket OPS-123
      expires: 2026-12-31
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from configurator.errors import InputError, Location
from configurator.model.loader import Mapping, Sequence, load_file

KEYS = ("host", "resource", "reason", "expires")
EXAMPLE = "- {host: web1, resource: 'file[/etc/motd]', reason: why, expires: 2026-12-31}"


@dataclass(frozen=True)
class Waiver:
    """One accepted finding: which host(s) and subject(s), why, and until when (UTC)."""

    host: str
    resource: str
    reason: str
    expires: dt.datetime
    where: Location

    def matches(self, host: str, subject: str) -> bool:
        """Whether this waiver names the finding (`*` and `?` are wildcards; brackets are literal, as in ids)."""
        return _glob(self.host, host) and _glob(self.resource, subject)

    def holds(self, now: dt.datetime) -> bool:
        """Whether it still applies at `now` (it stops at `expires`)."""
        return now < self.expires


def load(path: Path) -> list[Waiver]:
    """Every waiver in the file; a mistake is an InputError naming its file:line."""
    data = load_file(path)
    if data is None:
        return []
    if not isinstance(data, Sequence):
        raise InputError("a waiver file must be a list of waivers", Location(str(path), 1), EXAMPLE)
    return [_waiver(item, data.where_of(n)) for n, item in enumerate(data)]


def _waiver(item: Any, at: Location) -> Waiver:
    if not isinstance(item, Mapping):
        raise InputError("a waiver must be a mapping", at, EXAMPLE)
    for key in item:
        if key not in KEYS:
            raise InputError(f"unknown key {key!r} in a waiver", item.where_of(key), f"allowed: {', '.join(KEYS)}")
    for key in KEYS:
        if key not in item:
            raise InputError(f"a waiver needs `{key}`", item.where, EXAMPLE)
        if key != "expires" and (not isinstance(item[key], str) or not item[key].strip()):
            raise InputError(f"`{key}` must be a non-empty text", item.where_of(key))
    return Waiver(item["host"].strip(), item["resource"].strip(), item["reason"].strip(),
                  _expiry(item["expires"], item.where_of("expires")), item.where)


def _expiry(value: Any, at: Location) -> dt.datetime:
    """A date (expires at its start, UTC) or a date and time (UTC unless it says otherwise)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value) if "T" in value or " " in value.strip() else \
                dt.date.fromisoformat(value)
        except ValueError:
            value = None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise InputError("`expires` must be a date like 2026-12-31 (or 2026-12-31T18:00:00Z)", at)


def find(waivers: Iterable[Waiver], host: str, subject: str, now: dt.datetime) -> tuple[Waiver | None, bool]:
    """The first waiver naming the finding, and whether it still holds (an expired one is drift again)."""
    named = [w for w in waivers if w.matches(host, subject)]
    live = [w for w in named if w.holds(now)]
    if live:
        return live[0], True
    return (named[0], False) if named else (None, False)


def _glob(pattern: str, text: str) -> bool:
    """`*` any text, `?` one character; everything else literal (`file[/etc/motd]` names itself)."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, text) is not None
