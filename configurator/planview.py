"""The plan view: pending changes grouped per resource, identical changes on many hosts folded.

    ~ file[/etc/nginx/nginx.conf] content of /etc/nginx/nginx.conf changed    on 48 hosts: web01 .. web48
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from configurator.executor import HostResult

SYMBOLS = {"create": "+", "modify": "~", "remove": "-", "": "~"}


@dataclass
class Change:
    """One distinct change and the hosts it applies to."""

    symbol: str
    resource: str
    summary: str
    diff: str
    hosts: list[str] = field(default_factory=list)


def fold(results: list[HostResult]) -> list[Change]:
    """Distinct (resource, summary, diff) changes in first-seen order, each with its hosts."""
    found: dict[str, Change] = {}
    for result in results:
        for planned, status in result.outcome.steps:
            if status not in ("pending", "unknown"):
                continue
            symbol = "?" if status == "unknown" else SYMBOLS.get(planned.step.kind, "~")
            key = hashlib.sha256("\0".join((symbol, planned.id, planned.step.summary, planned.step.diff))
                                 .encode()).hexdigest()
            found.setdefault(key, Change(symbol, planned.id, planned.step.summary, planned.step.diff)) \
                .hosts.append(result.host)
    return list(found.values())


def hosts_text(hosts: list[str], limit: int = 6) -> str:
    """`node1` / `node1, node2` / `48 hosts: a, b, c, ... z`."""
    if len(hosts) == 1:
        return hosts[0]
    shown = hosts if len(hosts) <= limit else [*hosts[: limit - 1], "...", hosts[-1]]
    return f"{len(hosts)} hosts: {', '.join(shown)}"


def render(changes: list[Change], diff: bool) -> str:
    """The plan as text, Terraform style (+ create, ~ change, - remove, ? unknown)."""
    if not changes:
        return "No changes. The hosts match the roles.\n"
    lines = []
    for change in changes:
        lines.append(f"{change.symbol} {change.resource}  {change.summary}  on {hosts_text(change.hosts)}")
        if diff and change.diff:
            lines += [f"    {d}" for d in change.diff.splitlines()]
    counts = {s: sum(len(c.hosts) for c in changes if c.symbol == s) for s in "+~-?"}
    lines.append(f"Plan: {counts['+']} to create, {counts['~']} to change, {counts['-']} to remove, "
                 f"{counts['?']} unknown ({len(changes)} distinct changes).")
    return "\n".join(lines) + "\n"
