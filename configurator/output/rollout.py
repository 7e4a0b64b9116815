"""How a rollout reads in the recap and the JSON report: each host's batch and times, the batch hooks."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any

from configurator.connections.streams import clip
from configurator.engine.batches import AT_ONCE
from configurator.engine.hooks import NOT_NEEDED, HookRun
from configurator.engine.results import HostResult, Results

Redact = Callable[[str], str]


def labels(results: Sequence[HostResult]) -> dict[str, str]:
    """host -> its batch (`apps 2/3 `, padded to one width); empty when the run had no batches to tell apart."""
    if all(r.batch is None or r.batch.group == AT_ONCE for r in results):
        return {}
    width = max(len(r.label) for r in results)
    return {r.host: f"{r.label:<{width}}  " for r in results}


def stamp(seconds: float | None) -> str | None:
    """A time as ISO 8601 in UTC with milliseconds (None stays None: the host never started)."""
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(timespec="milliseconds")


def host_json(result: HostResult) -> dict[str, Any]:
    """A host's batch (group, index, count; null for a host that waited for nothing) and its start and end times."""
    batch = result.batch
    where = None if batch is None or batch.group == AT_ONCE else {
        "group": batch.group, "index": batch.index, "count": batch.count}
    return {"batch": where, "started": stamp(result.started), "ended": stamp(result.ended)}


def hooks_of(results: Sequence[HostResult]) -> list[HookRun]:
    """The batch hooks a run ran, in order (none for a run that had none)."""
    return results.hooks if isinstance(results, Results) else []


def hooks_json(results: Sequence[HostResult], redact: Redact) -> list[dict[str, Any]]:
    """Each batch hook: where it ran, the command, how it ended, its output's tail and its times."""
    return [{"group": h.group, "batch": h.batch, "when": h.when, "on": h.on, "command": redact(h.command),
             "status": h.status, "exit_status": h.exit_status, "output": clip(redact(h.output)),
             "started": stamp(h.started), "ended": stamp(h.ended)} for h in hooks_of(results)]


def hook_lines(results: Sequence[HostResult], redact: Redact) -> list[str]:
    """The recap's batch hooks section: one line each, the command, and the output's tail."""
    runs = hooks_of(results)
    if not runs:
        return []
    lines = ["", "BATCH HOOKS"]
    for run in runs:
        started = (stamp(run.started) or "")[11:23]
        lines.append(f"{started}  {run.describe()}")
        if run.status == NOT_NEEDED:  # not run: its command was never rendered
            continue
        lines.append(f"    $ {clip(redact(run.command))}")
        if run.output:
            lines += [f"    | {clip(redact(line))}" for line in run.output.splitlines()]
    return lines
