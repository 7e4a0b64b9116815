"""The batched probe: facts, pending handlers and every resource's probe in ONE script."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from configurator.engine import hostpaths
from configurator.resources.base import Resource, field_lines

PENDING = f"{hostpaths.STATE}/handlers.pending"  # the session's state directory

# `read` of /proc where it answers, so the facts cost two processes (uname -m, id -un), not five
FACTS = r"""
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "os_id=${ID:-unknown}"; echo "os_version=${VERSION_ID:-}"; echo "os_codename=${VERSION_CODENAME:-}"
{ IFS= read -r __cfg_k </proc/sys/kernel/osrelease; } 2>/dev/null || __cfg_k=$(uname -r)
{ IFS= read -r __cfg_h </proc/sys/kernel/hostname; } 2>/dev/null || __cfg_h=$(uname -n)
echo "kernel=$__cfg_k"; echo "arch=$(uname -m)"; echo "hostname=$__cfg_h"
__cfg_i=; { IFS= read -r __cfg_i </proc/1/comm; } 2>/dev/null; echo "init=$__cfg_i"
if command -v apt-get >/dev/null 2>&1; then echo pkg=apt; else echo pkg=none; fi
echo "user=$(id -un)"
"""

@dataclass(frozen=True)
class Observed:
    """What one probe round trip saw."""

    facts: dict[str, str]
    pending: tuple[str, ...]
    states: tuple[str, ...]


def groups(resources: Sequence[Resource], batch: bool = True) -> list[list[tuple[int, Resource]]]:
    """Resources probed together, one command for many (e.g. one `stat` for every file), by class."""
    found: dict[type, list[tuple[int, Resource]]] = {}
    if not batch:
        return []
    for index, resource in enumerate(resources):
        if getattr(resource, "batched", False):
            found.setdefault(type(resource), []).append((index, resource))
    return list(found.values())


def mark(token: str, number: int) -> str:
    """The separator a batch prints between its parts: names on the host cannot forge the run's token."""
    if not re.fullmatch(r"\w+", token):
        raise ValueError(f"probe token {token!r} must be letters and digits")
    return f"@@{token}:b{number}"


def script(resources: Sequence[Resource], token: str, facts: bool = True, batch: bool = True) -> str:
    """One sh script that prints facts, pending handlers and each probe between markers."""
    parts = []
    if facts:
        parts += [f"printf '@@{token} facts\\n'", FACTS]
        parts += [f"printf '\\n@@{token} pending\\n'", f"if [ -s {PENDING} ]; then cat {PENDING} 2>/dev/null; fi"]
    parts += sorted({getattr(type(r), "prelude", "") for r in resources} - {""})
    batched = groups(resources, batch)
    for number, group in enumerate(batched):
        many = type(group[0][1]).batch_probe([r for _, r in group], mark(token, number))  # type: ignore[attr-defined]
        # a brace group, not a subshell (one fork less): batch_probe bodies never exit, cd or set options
        parts += [f"printf '\\n@@{token} b{number}\\n'", f"{{ {many.strip()}\n}} 2>/dev/null"]
    alone = set(range(len(resources))) - {i for group in batched for i, _ in group}
    for index in sorted(alone):
        parts.append(f"printf '\\n@@{token} {index}\\n'")
        parts.append(f"( {resources[index].probe().strip()}\n) 2>/dev/null")
    parts.append("exit 0")
    return "\n".join(parts) + "\n"


def parse(stdout: str, token: str, resources: Sequence[Resource], batch: bool = True) -> Observed:
    """Split a probe's output back into facts, pending handlers and per-resource text."""
    sections: dict[str, str] = {}
    pieces = re.split(rf"(?:^|\n)@@{token} (\w+)\n", stdout)
    for name, body in zip(pieces[1::2], pieces[2::2], strict=True):
        sections[name] = body
    states = {i: sections[str(i)] for i in range(len(resources)) if str(i) in sections}
    for number, group in enumerate(groups(resources, batch)):
        if f"b{number}" in sections:
            split = type(group[0][1]).batch_parse(  # type: ignore[attr-defined]
                [r for _, r in group], sections[f"b{number}"], mark(token, number))
            states.update({i: text for (i, _), text in zip(group, split, strict=True)})
    missing = [i for i in range(len(resources)) if i not in states]
    if missing:
        raise ValueError(f"probe output is missing {len(missing)} sections (first: {missing[0]})")
    facts = field_lines(sections.get("facts", ""))
    pending = tuple(line for line in sections.get("pending", "").split("\n") if line.strip())
    return Observed(facts, pending, tuple(states[i] for i in range(len(resources))))
