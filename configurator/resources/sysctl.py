"""Kernel parameters: the live value under /proc/sys and a file in /etc/sysctl.d for boot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from configurator.engine.actions import Action, Run, quote
from configurator.resources.base import Check, PlanStatus, Resource, Step, change, field_lines, ok, unknown
from configurator.resources.file import File, FileState
from configurator.resources.touch import Touches, touches

KEY = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+\Z")
PERSIST_DIR = "/etc/sysctl.d"

# Reads $f in one go: /proc/sys files answer only a read at offset 0, so the byte-by-byte
# `read` builtin would see just the first character. Lines are joined with spaces.
_READ = """\
if [ -f "$f" ] && [ -r "$f" ] && v=$(tr '\\n' ' ' < "$f"); then echo "live=$v"
elif [ -e "$f" ]; then echo live_error=unreadable
else echo live_error=missing; fi
"""


def normalise(value: str) -> str:
    """A sysctl value with runs of whitespace (tabs, newlines) as single spaces."""
    return " ".join(value.split())


@dataclass(frozen=True)
class SysctlState:
    """The live value (None when it could not be read, `error` says why) and the persisted file."""

    live: str | None = None
    error: str = ""
    persisted: FileState | None = None


@dataclass(frozen=True)
class Sysctl(Resource[SysctlState]):
    """A kernel parameter, set live with `sysctl -w` and (by default) persisted for boot.

    Example: `sysctl: {name: net.ipv4.ip_forward, value: "1"}`

    The persisted file is `/etc/sysctl.d/60-configurator-<name>.conf`; `persist: false`
    leaves any such file alone. Values compare with whitespace normalised ("4096\\t87380"
    equals "4096 87380"). Names are dotted only: a key whose parts contain dots themselves
    (a VLAN interface, as in net.ipv4.conf.eth0.100.forwarding) cannot be managed here.
    """

    name: str
    value: str
    persist: bool = True
    type: ClassVar[str] = "sysctl"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.name}]"

    @property
    def proc_path(self) -> str:
        return "/proc/sys/" + self.name.replace(".", "/")

    @property
    def wanted(self) -> str:
        return normalise(self.value)

    def persisted(self) -> File:
        """The file under /etc/sysctl.d that applies the value at boot."""
        return File(f"{PERSIST_DIR}/60-configurator-{self.name}.conf",
                    f"{self.name} = {self.wanted}\n".encode(), owner="root", group="root",
                    mode="0644")

    def validate(self) -> list[str]:
        problems: list[str] = []
        if "/" in self.name:
            problems.append(f"sysctl name {self.name!r} must use dots, not '/' "
                            "(e.g. net.ipv4.ip_forward)")
        elif not KEY.match(self.name):
            problems.append(f"sysctl name {self.name!r} is not a dotted key "
                            "such as net.ipv4.ip_forward")
        if "\n" in self.value.strip() or "\0" in self.value:
            problems.append("value must be one line")
        return problems

    def touches(self) -> Touches:
        """Reads and writes the live value and the file that persists it."""
        mine = {("sysctl", self.name), ("path", self.persisted().path)}
        return touches(mine, mine)

    def probe(self) -> str:
        text = f"f={quote(self.proc_path)}\n{_READ}"
        return text + self.persisted().probe() if self.persist else text

    def parse(self, text: str) -> SysctlState:
        seen = field_lines(text)  # the persisted file's probe prints other keys than live/live_error
        persisted = self.persisted().parse(text) if self.persist else None
        return SysctlState(seen.get("live"), seen.get("live_error", ""), persisted)

    def plan(self, observed: SysctlState) -> Step:
        if observed.live is None:
            problem = "no such key" if observed.error == "missing" else "cannot be read"
            return unknown(f"sysctl {self.name}: {problem} ({self.proc_path})")
        notes: list[str] = []
        actions: list[Action] = []
        live = normalise(observed.live)
        if live != self.wanted:
            notes.append(f"{self.name} {live!r} -> {self.wanted!r}")
            actions.append(Run(("sysctl", "-w", f"{self.name}={self.wanted}")))
        diff = ""
        if observed.persisted is not None:
            saved = self.persisted().plan(observed.persisted)
            if saved.status == PlanStatus.UNKNOWN:
                return unknown(f"sysctl {self.name}: {saved.summary}")
            if saved.status == PlanStatus.CHANGE:
                notes.append(saved.summary)
                actions += saved.actions
                diff = saved.diff
        if not notes:
            return ok(f"{self.name} = {live}")
        return change("; ".join(notes), *actions, diff=diff)

    def checks(self) -> list[Check]:
        checks = [Check(f"sysctl {self.name} is {self.wanted!r}", self._verify)]
        return checks + self.persisted().checks() if self.persist else checks

    def _verify(self, host: Any) -> None:
        live = normalise(host.file(self.proc_path).content_string)
        assert live == self.wanted, f"sysctl {self.name} is {live!r}, expected {self.wanted!r}"
