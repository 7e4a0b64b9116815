"""The plan view: pending changes grouped per resource, identical changes on many hosts folded.

    ~ file[/etc/nginx/nginx.conf] content of /etc/nginx/nginx.conf changed    on 48 hosts: web01 .. web48
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from configurator.engine.executor import HostResult
from configurator.engine.status import HostStatus, StepStatus

SYMBOLS = {"create": "+", "modify": "~", "remove": "-", "": "~"}
NOT_CHECKED = (HostStatus.FAILED, HostStatus.UNREACHABLE, HostStatus.SKIPPED)  # state not (fully) read


@dataclass
class Change:
    """One distinct change and the hosts it applies to."""

    symbol: str
    resource: str
    summary: str
    diff: str
    hosts: list[str] = field(default_factory=list)
    tags: tuple[str, ...] = ()


def fold(results: list[HostResult]) -> list[Change]:
    """Distinct (resource, summary, diff) changes in first-seen order, each with its hosts."""
    found: dict[str, Change] = {}
    for result in results:
        for planned, status in result.outcome.steps:
            if status not in (StepStatus.PENDING, StepStatus.UNKNOWN):
                continue
            symbol = "?" if status == StepStatus.UNKNOWN else SYMBOLS.get(planned.step.kind, "~")
            key = hashlib.sha256("\0".join((symbol, planned.id, planned.step.summary, planned.step.diff))
                                 .encode()).hexdigest()
            found.setdefault(key, Change(symbol, planned.id, planned.step.summary, planned.step.diff,
                                         tags=planned.entry.tags)).hosts.append(result.host)
    return list(found.values())


def hosts_text(hosts: list[str], limit: int = 6) -> str:
    """`node1` / `node1, node2` / `48 hosts: a, b, c, ... z`."""
    if len(hosts) == 1:
        return hosts[0]
    shown = hosts if len(hosts) <= limit else [*hosts[: limit - 1], "...", hosts[-1]]
    return f"{len(hosts)} hosts: {', '.join(shown)}"


def _not_checked(hosts: list[HostResult]) -> list[str]:
    """`Nothing was checked on 2 hosts: a, b (failed or unreachable): see the recap.` (none when `hosts` is)."""
    if not hosts:
        return []
    statuses = " or ".join(s for s in NOT_CHECKED if any(r.status == s for r in hosts))
    return [f"Nothing was checked on {hosts_text([r.host for r in hosts])} ({statuses}): see the recap."]


def render(changes: list[Change], diff: bool, results: list[HostResult] | None = None) -> str:
    """The plan as text, Terraform style (+ create, ~ change, - remove, ? unknown), then the hosts not checked."""
    results = results or []
    unchecked = [r for r in results if r.status in NOT_CHECKED]
    if not changes:
        # "No changes" alone would read as all clear when some hosts, or all, could not be checked
        head = ["No changes. The hosts match the roles."] if not unchecked else \
            ["No changes on the hosts checked."] if len(unchecked) < len(results) else []
        return "\n".join(head + _not_checked(unchecked)) + "\n"
    lines = []
    for change in changes:
        tagged = f" (tags: {', '.join(change.tags)})" if change.tags else ""
        lines.append(f"{change.symbol} {change.resource}{tagged}  {change.summary}  on {hosts_text(change.hosts)}")
        if diff and change.diff:
            lines += [f"    {d}" for d in change.diff.splitlines()]
    counts = {s: sum(len(c.hosts) for c in changes if c.symbol == s) for s in "+~-?"}
    lines.append(f"Plan: {counts['+']} to create, {counts['~']} to change, {counts['-']} to remove, "
                 f"{counts['?']} unknown ({len(changes)} distinct changes).")
    lines += _not_checked(unchecked)
    return "\n".join(lines) + "\n"
