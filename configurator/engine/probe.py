"""The batched probe: facts, pending handlers and every resource's probe in ONE script."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from configurator.engine import hostpaths
from configurator.resources.base import Resource, Unreadable, field_lines, read
from configurator.resources.sections import split_marked

SECTION = re.compile(r"(\w+)")  # a section's name after the run's marker
PENDING = f"{hostpaths.STATE}/handlers.pending"  # the session's state directory

Group = list[tuple[int, Resource[Any]]]  # resources probed by one command, with their places in the list

# `read` of /proc where it answers: the facts every probe reads cost no process on the host.
# `boot` is the kernel's boot id and the start time of PID 1: a container's reboot keeps the kernel's.
FACTS = r"""
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "os_id=${ID:-unknown}"; echo "os_version=${VERSION_ID:-}"; echo "os_codename=${VERSION_CODENAME:-}"
{ IFS= read -r __cfg_k </proc/sys/kernel/osrelease; } 2>/dev/null || __cfg_k=$(uname -r)
{ IFS= read -r __cfg_h </proc/sys/kernel/hostname; } 2>/dev/null || __cfg_h=$(uname -n)
echo "kernel=$__cfg_k"; echo "hostname=$__cfg_h"
__cfg_i=; { IFS= read -r __cfg_i </proc/1/comm; } 2>/dev/null; echo "init=$__cfg_i"
__cfg_b=; { IFS= read -r __cfg_b </proc/sys/kernel/random/boot_id; } 2>/dev/null
__cfg_s=; { IFS= read -r __cfg_s </proc/1/stat; } 2>/dev/null; __cfg_s=${__cfg_s##*) }; __cfg_n=0
while [ "$__cfg_n" -lt 19 ]; do __cfg_s=${__cfg_s#* }; __cfg_n=$((__cfg_n + 1)); done
echo "boot=$__cfg_b@${__cfg_s%% *}"
if command -v apt-get >/dev/null 2>&1; then echo pkg=apt; else echo pkg=none; fi
"""
# The facts that may start a process (`id -un`; `uname -m` before Linux 6.1 has kernel.arch), read
# only when a run may ask for them: a `when` naming facts, `configure facts`. A converged host's
# probe is then as cheap on the host as the commands its resources need.
ASKED_FACTS = r"""
{ IFS= read -r __cfg_a </proc/sys/kernel/arch; } 2>/dev/null || __cfg_a=$(uname -m)
echo "arch=$__cfg_a"; echo "user=$(id -un)"
"""


class Facts(enum.Enum):
    """Which facts a probe reads: none (a later probe of the run), those that cost no process, or all."""

    NONE = "none"
    FREE = "free"
    ALL = "all"


@dataclass(frozen=True)
class Observed:
    """What one probe round trip saw: each resource's state, parsed once (Unreadable when it could not be)."""

    facts: dict[str, str]
    pending: tuple[str, ...]
    states: tuple[Any, ...]


def groups(resources: Sequence[Resource[Any]], batch: bool = True) -> list[Group]:
    """Resources probed together, one command for many (e.g. one `stat` for every file), by type name:
    a type's variants (`template` is a `file`) share its batch."""
    found: dict[str, Group] = {}
    if not batch:
        return []
    for index, resource in enumerate(resources):
        if resource.batched:
            found.setdefault(resource.type, []).append((index, resource))
    return list(found.values())


def mark(token: str, number: int) -> str:
    """The separator a batch prints between its parts: names on the host cannot forge the run's token."""
    if not re.fullmatch(r"\w+", token):
        raise ValueError(f"probe token {token!r} must be letters and digits")
    return f"@@{token}:b{number}"


def script(resources: Sequence[Resource[Any]], token: str, facts: Facts = Facts.ALL, batch: bool = True) -> str:
    """One sh script that prints facts, pending handlers and each probe between markers."""
    parts = []
    if facts is not Facts.NONE:
        parts += [f"printf '@@{token} facts\\n'", FACTS, *([ASKED_FACTS] if facts is Facts.ALL else [])]
        parts += [f"printf '\\n@@{token} pending\\n'", f"if [ -s {PENDING} ]; then cat {PENDING} 2>/dev/null; fi"]
    parts += sorted({r.prelude for r in resources} - {""})
    batched = groups(resources, batch)
    for number, group in enumerate(batched):
        many = type(group[0][1]).batch_probe([r for _, r in group], mark(token, number))
        # a brace group, not a subshell (one fork less): batch_probe bodies never exit, cd or set options
        parts += [f"printf '\\n@@{token} b{number}\\n'", f"{{ {many.strip()}\n}} 2>/dev/null"]
    alone = set(range(len(resources))) - {i for group in batched for i, _ in group}
    for index in sorted(alone):
        parts.append(f"printf '\\n@@{token} {index}\\n'")
        parts.append(f"( {resources[index].probe().strip()}\n) 2>/dev/null")
    parts.append("exit 0")
    return "\n".join(parts) + "\n"


def parse(stdout: str, token: str, resources: Sequence[Resource[Any]], batch: bool = True) -> Observed:
    """Split a probe's output back into facts, pending handlers and each resource's state."""
    pieces = split_marked(stdout, f"@@{token} ", SECTION)
    # the newline before each marker is the script's own (printf '\n@@...'), not the section's
    bodies = [body.removesuffix("\n") for body in pieces[2:-1:2]] + pieces[-1:] if len(pieces) > 1 else []
    sections = dict(zip(pieces[1::2], bodies, strict=True))
    states = {i: read(resources[i], sections[str(i)]) for i in range(len(resources)) if str(i) in sections}
    for number, group in enumerate(groups(resources, batch)):
        if f"b{number}" in sections:
            states.update(zip((i for i, _ in group), _batch_states(group, sections[f"b{number}"], mark(token, number)),
                              strict=True))
    missing = [i for i in range(len(resources)) if i not in states]
    if missing:
        raise ValueError(f"probe output is missing {len(missing)} sections (first: {missing[0]})")
    facts = field_lines(sections.get("facts", ""))
    pending = tuple(line for line in sections.get("pending", "").split("\n") if line.strip())
    return Observed(facts, pending, tuple(states[i] for i in range(len(resources))))


def _batch_states(group: Group, text: str, marker: str) -> list[Any]:
    """The states `batch_parse` reads from one batch's output; all Unreadable when it cannot."""
    members = [r for _, r in group]
    try:
        found = type(members[0]).batch_parse(members, text, marker)
    except (ValueError, KeyError, IndexError) as exc:
        return [Unreadable(f"could not read the batched probe: {exc}")] * len(members)
    if len(found) != len(members):
        return [Unreadable("the batched probe did not describe every resource")] * len(members)
    return list(found)
