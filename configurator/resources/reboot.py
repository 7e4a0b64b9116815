"""Rebooting a host in the middle of a run: the engine waits for it to come back, reconnects and goes on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from configurator.engine.actions import Run, quote
from configurator.resources.base import Check, Resource, Step, change, field_lines, ok

# the reboot starts once the step has returned, so that the step's own exit status still arrives
REBOOT = Run(("systemd-run", "--quiet", "--on-active=2", "--timer-property=AccuracySec=100ms",
              "systemctl", "reboot"))


@dataclass(frozen=True)
class RebootState:
    """Whether the file that asks for a reboot exists (True when no file is named)."""

    asked: bool


@dataclass(frozen=True)
class Reboot(Resource[RebootState]):
    """Reboot the host, wait until it is back (another boot), reconnect and carry on with the run.

    Example: `reboot: {if_exists: /run/reboot-required, timeout: 600}`, or as a handler
    `handlers: {reboot: {reboot: {}}}` that a kernel package or a boot setting notifies.

    With `if_exists` the host reboots only while that file exists (/run/reboot-required,
    written by packages that need one, is gone after the reboot); without it, every time the
    step runs, so use it as a handler. The reboot starts two seconds after the step returned;
    the engine then reconnects until the host answers from another boot (the kernel's boot id,
    or the start of PID 1 for a container), at most `timeout` seconds, keeping its lock and the
    notified handlers. The run goes on with the steps after it; in a rolling group the host's
    batch waits for it. A `connection: local` host cannot reboot itself and fails the step.
    """

    if_exists: str | None = None
    timeout: int = 600
    type: ClassVar[str] = "reboot"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.if_exists or 'always'}]"

    def validate(self) -> list[str]:
        problems = []
        if self.if_exists is not None and not self.if_exists.startswith("/"):
            problems.append(f"if_exists {self.if_exists!r} must be an absolute path")
        if not 10 <= self.timeout <= 3600:
            problems.append("timeout must be between 10 and 3600 seconds")
        return problems

    def restarts_host(self) -> float:
        return float(self.timeout)

    def probe(self) -> str:
        if self.if_exists is None:
            return "echo asked=1\n"
        path = quote(self.if_exists)
        return f"if [ -e {path} ] || [ -L {path} ]; then echo asked=1; else echo asked=0; fi\n"

    def parse(self, text: str) -> RebootState:
        asked = field_lines(text)["asked"]
        if asked not in ("0", "1"):
            raise ValueError(f"asked={asked!r}")
        return RebootState(asked == "1")

    def plan(self, observed: RebootState) -> Step:
        if not observed.asked:
            return ok(f"{self.if_exists} does not exist")
        why = f" ({self.if_exists} exists)" if self.if_exists else ""
        return change(f"reboot{why}", REBOOT)

    def checks(self) -> list[Check]:
        if self.if_exists is None:
            return []
        return [Check(f"{self.if_exists} does not exist (no reboot pending)", self._verify)]

    def _verify(self, host: Any) -> None:
        assert not host.file(self.if_exists).exists, f"{self.if_exists} exists: the host still asks for a reboot"
