"""configurator's round trips a host, read from its JSON report, against the issue's bound.

The bound of a first run is `package transactions + handlers + 3` round trips a host. Both counts come
from the report: a run of consecutive changed `package[...]` steps is one transaction (the engine merges
consecutive installs into one apt-get), and a handler counts once for each name in the host's
`handlers` (the handlers that ran).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXTRA = 3  # the bound's constant round trips (the first probe among them), beside transactions and handlers


@dataclass(frozen=True)
class HostTrips:
    """One host of one run: the round trips it took and what its bound allows."""

    host: str
    round_trips: int
    transactions: int
    handlers: int

    @property
    def bound(self) -> int:
        return self.transactions + self.handlers + EXTRA


def transactions(steps: list[dict[str, Any]]) -> int:
    """Package transactions: each run of consecutive changed package steps."""
    count, inside = 0, False
    for step in steps:
        changed_package = step["resource"].startswith("package[") and step["status"] == "changed"
        count += changed_package and not inside
        inside = changed_package
    return count


def read(report: dict[str, Any]) -> list[HostTrips]:
    """Every host of a configurator JSON report, in its order."""
    return [HostTrips(h["host"], h["round_trips"], transactions(h["steps"]), len(h["handlers"]))
            for h in report["hosts"]]


def load(path: Path) -> list[HostTrips]:
    """The hosts of the report at `path`; none when the run wrote no (readable) report."""
    try:
        return read(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError):
        return []


def worst(hosts: list[HostTrips]) -> HostTrips | None:
    """The host furthest above (or least below) its bound."""
    return max(hosts, key=lambda h: (h.round_trips - h.bound, h.round_trips), default=None)


def describe(label: str, hosts: list[HostTrips]) -> str:
    """One line: each host's round trips, and the bound with how it was counted."""
    if not hosts:
        return f"configurator round trips a host, {label}: not measured (no report)"
    counts = ", ".join(str(h.round_trips) for h in hosts)
    bounds = sorted({(h.bound, h.transactions, h.handlers) for h in hosts})
    said = "; ".join(f"{b} = {t} package transaction{'s' * (t != 1)} + {n} handler{'s' * (n != 1)} + {EXTRA}"
                     for b, t, n in bounds)
    return f"configurator round trips a host, {label}: {counts} (bound {said})"
