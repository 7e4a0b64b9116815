"""The output of `configure run`: hosts with the same output and exit status printed once, with their names.

    2 hosts: node51, node52 | exit 0
        active
    node53 | unreachable | connect to 198.18.0.53:2 failed: Connection refused
    Ran `systemctl is-active ssh` on 3 hosts: 2 ok, 0 failed, 1 unreachable (0.31 s)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from configurator.connections.streams import clip
from configurator.engine.adhoc import Outcome, State
from configurator.output.planview import hosts_text

ORDER = (State.OK, State.FAILED, State.UNREACHABLE, State.NOT_STARTED)  # problems last, next to the summary
NAMES = 50  # host names shown in a group's head before they are elided


@dataclass
class Group:
    """One distinct result (state, exit status, output, error) and the hosts that gave it."""

    state: State
    status: int | None
    stdout: str
    stderr: str
    error: str
    hosts: list[str] = field(default_factory=list)


def fold(outcomes: Sequence[Outcome]) -> list[Group]:
    """Distinct results, ok ones first then failed, unreachable and not started; hosts in their run order."""
    found: dict[tuple[object, ...], Group] = {}
    for o in outcomes:
        key = (o.state, o.status, o.stdout, o.stderr, o.error)
        found.setdefault(key, Group(o.state, o.status, o.stdout, o.stderr, o.error)).hosts.append(o.host)
    return sorted(found.values(), key=lambda g: ORDER.index(g.state))


def head(group: Group) -> str:
    """`2 hosts: a, b | exit 0`, `c | unreachable | why`, `d | exit 1 | command timed out ...`."""
    parts = [hosts_text(group.hosts, NAMES)]
    if group.status is not None:
        parts.append(f"exit {group.status}")
    elif group.state != State.FAILED:
        parts.append(group.state.value)
    else:
        parts.append("failed")
    if group.error:
        parts.append(group.error)
    return " | ".join(parts)


def _block(text: str, title: str = "") -> list[str]:
    """Output lines indented under their group (and under `stderr:` for that stream)."""
    if not text.strip("\n"):
        return []
    lines = [f"  {title}"] if title else []
    return lines + [f"    {line}" for line in clip(text.rstrip("\n")).split("\n")]


def render(groups: Sequence[Group]) -> str:
    """Every group: its head, what the hosts printed on stdout, then on stderr."""
    lines: list[str] = []
    for group in groups:
        lines.append(head(group))
        lines += _block(group.stdout) + _block(group.stderr, "stderr:")
    return "\n".join(lines) + "\n" if lines else ""


def summary(label: str, outcomes: Sequence[Outcome], seconds: float) -> str:
    """`Ran `CMD` on 3 hosts: 2 ok, 0 failed, 1 unreachable (0.31 s)` (and how many were not started)."""
    count = {s: sum(1 for o in outcomes if o.state == s) for s in State}
    tail = f", {count[State.NOT_STARTED]} not started" if count[State.NOT_STARTED] else ""
    hosts = f"{len(outcomes)} host{'' if len(outcomes) == 1 else 's'}"
    return (f"Ran `{clip(label, 200)}` on {hosts}: {count[State.OK]} ok, {count[State.FAILED]} failed, "
            f"{count[State.UNREACHABLE]} unreachable{tail} ({seconds:.2f} s)\n")


def as_json(label: str, outcomes: Sequence[Outcome], code: int) -> str:
    """Per host: state, exit status, stdout, stderr, error and seconds; the command and the exit code."""
    hosts = {o.host: {"state": o.state.value, "status": o.status, "stdout": o.stdout, "stderr": o.stderr,
                      "error": o.error, "seconds": round(o.seconds, 3)} for o in outcomes}
    return json.dumps({"command": label, "exit": code, "hosts": hosts}, indent=2) + "\n"
