"""The batched probe: facts, pending handlers and every resource's probe in ONE script."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from configurator.resources.base import Resource, field_lines
from configurator.transport import LOCK_DIR

PENDING = f"{LOCK_DIR}/handlers.pending"

FACTS = r"""
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "os_id=${ID:-unknown}"; echo "os_version=${VERSION_ID:-}"; echo "os_codename=${VERSION_CODENAME:-}"
echo "kernel=$(uname -r)"; echo "arch=$(uname -m)"; echo "hostname=$(uname -n)"
echo "init=$(cat /proc/1/comm 2>/dev/null)"
if command -v apt-get >/dev/null 2>&1; then echo pkg=apt; else echo pkg=none; fi
echo "user=$(id -un)"
"""


@dataclass(frozen=True)
class Observed:
    """What one probe round trip saw."""

    facts: dict[str, str]
    pending: tuple[str, ...]
    states: tuple[str, ...]


def script(resources: Sequence[Resource], token: str, facts: bool = True) -> str:
    """One sh script that prints facts, pending handlers and each probe between markers."""
    parts = []
    if facts:
        parts += [f"printf '@@{token} facts\\n'", FACTS]
        parts += [f"printf '\\n@@{token} pending\\n'", f"cat {PENDING} 2>/dev/null"]
    parts += sorted({getattr(type(r), "prelude", "") for r in resources} - {""})
    for index, resource in enumerate(resources):
        parts.append(f"printf '\\n@@{token} {index}\\n'")
        parts.append(f"( {resource.probe().strip()}\n) 2>/dev/null")
    parts.append("exit 0")
    return "\n".join(parts) + "\n"


def parse(stdout: str, token: str, count: int) -> Observed:
    """Split a probe's output back into facts, pending handlers and per-resource text."""
    sections: dict[str, str] = {}
    pieces = re.split(rf"(?:^|\n)@@{token} (\w+)\n", stdout)
    for name, body in zip(pieces[1::2], pieces[2::2], strict=True):
        sections[name] = body
    states = tuple(sections.get(str(i), "") for i in range(count))
    missing = [i for i in range(count) if str(i) not in sections]
    if missing:
        raise ValueError(f"probe output is missing {len(missing)} sections (first: {missing[0]})")
    facts = field_lines(sections.get("facts", ""))
    pending = tuple(line for line in sections.get("pending", "").splitlines() if line.strip())
    return Observed(facts, pending, states)
