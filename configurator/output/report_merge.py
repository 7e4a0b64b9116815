"""Joining the JSON reports of a sharded run into the report of one run (`configure report merge`).

The shards' reports must be of one schema version, one tool version and one command, and name each host
once. The joined report has the same schema: every host (in name order, numbers compared as numbers), the
batch hooks in the order they started, and for drift the summary counts added up. Its exit code is worked
out from the joined hosts by the same rules as one run's (configurator.engine.exitcodes), never from the
shards' own codes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from configurator.engine import exitcodes
from configurator.engine.status import CheckStatus, DriftStatus, HostStatus
from configurator.errors import InputError, Location

COMMANDS = ("apply", "check", "verify", "drift")
SAME = ("schema_version", "tool", "version", "command")  # keys every shard's report must agree on


@dataclass(frozen=True)
class Outcome:
    """A host of a report as far as its exit code goes (exitcodes.HostOutcome)."""

    host: str
    status: HostStatus
    consequence: bool = False  # not in the JSON report: a skipped host counts as a failure


def load(path: Path) -> dict[str, Any]:
    """One shard's report; an unreadable or foreign file is bad input."""
    where = Location(str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the report: {exc.strerror or exc}", where) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a JSON report: {exc}", where) from None
    if not isinstance(data, dict) or data.get("tool") != "configurator" or not isinstance(data.get("hosts"), list):
        raise InputError("not a configurator JSON report (no tool: configurator, or no hosts list)", where)
    if data.get("command") not in COMMANDS:
        raise InputError(f"a report of {data.get('command')!r} cannot be merged", where,
                         f"reports of {', '.join(COMMANDS)} can")
    return data


def merge(reports: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The reports (name, data) of the shards joined into the report of one run."""
    if not reports:
        raise InputError("no report to merge")
    _same(reports)
    _disjoint(reports)
    first = reports[0][1]
    hosts = sorted((h for _, r in reports for h in r["hosts"]), key=lambda h: natural(str(h["host"])))
    merged = {**first, "hosts": hosts}
    if "hooks" in first:
        merged["hooks"] = sorted((k for _, r in reports for k in r.get("hooks", [])),
                                 key=lambda k: (k.get("started") is None, k.get("started") or ""))
    if first["command"] == "drift":
        merged.update(_drift(reports, merged))
    return merged


def exit_code(report: dict[str, Any], detailed: bool = False) -> int:
    """The exit code of the joined report, by the rules of its command (configurator.engine.exitcodes)."""
    command, hosts = report["command"], report["hosts"]
    if command == "verify":
        return exitcodes.verify(CheckStatus(h["status"]) for h in hosts)
    if command == "drift":
        return exitcodes.drift(DriftStatus(h["status"]) for h in hosts)
    outcomes = [Outcome(h["host"], HostStatus(h["status"])) for h in hosts]
    hooks_failed = any(k.get("status") not in ("ok", "not needed") for k in report.get("hooks", []))
    return exitcodes.apply(outcomes, check=command == "check", detailed=detailed, hooks_failed=hooks_failed)


def totals(report: dict[str, Any]) -> dict[str, int]:
    """Hosts by status, in the order the statuses first appear."""
    found: dict[str, int] = {}
    for host in report["hosts"]:
        found[host["status"]] = found.get(host["status"], 0) + 1
    return found


def natural(name: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that puts node2 before node10."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part)


def _same(reports: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Refuse reports of different schema versions, tool versions or commands."""
    name, first = reports[0]
    for other, data in reports[1:]:
        for key in SAME:
            if data.get(key) != first.get(key):
                raise InputError(f"{key} {data.get(key)!r} differs from {first.get(key)!r} in {name}: "
                                 f"reports of one run share their {key}", Location(other))


def _disjoint(reports: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Refuse a host named by two reports (shards overlap, or a report is given twice)."""
    seen: dict[str, str] = {}
    for name, data in reports:
        for entry in data["hosts"]:
            host = entry.get("host") if isinstance(entry, dict) else None
            if not isinstance(host, str) or "status" not in entry:
                raise InputError("a host entry without host and status", Location(name))
            if host in seen:
                raise InputError(f"host {host} is in {seen[host]} too: the reports overlap", Location(name),
                                 "merge the reports of the shards of one run, each once")
            seen[host] = name


def _drift(reports: Sequence[tuple[str, dict[str, Any]]], merged: dict[str, Any]) -> dict[str, Any]:
    """A drift report's own keys: the earliest start, the summary counts added up, the exit code again."""
    datas = [r for _, r in reports]
    summary: dict[str, int] = {}
    for data in datas:
        for key, value in data.get("summary", {}).items():
            summary[key] = summary.get(key, 0) + int(value)
    previous = [d["previous_run"] for d in datas if d.get("previous_run")]
    resolved = sorted((x for d in datas for x in d.get("resolved", [])),
                      key=lambda x: (natural(str(x.get("host", ""))), str(x.get("subject", ""))))
    return {"at": min(str(d.get("at", "")) for d in datas), "previous_run": max(previous) if previous else None,
            "summary": summary, "resolved": resolved, "exit_code": exit_code(merged)}
