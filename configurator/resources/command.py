"""A command run on the host, skipped by its guards: creates, removes, unless, onlyif."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from configurator.engine.actions import Run, command_line, quote
from configurator.resources.base import Check, Resource, Step, change, field_lines, ok, unknown
from configurator.resources.touch import EVERYTHING, Touches, touches

GUARD_TIMEOUT = 60  # seconds for one unless/onlyif command during the probe
# timeout(1) and sh exit codes meaning "the guard did not run to completion", not "false"
_NOT_RUN = "124|125|126|127|137"


@dataclass(frozen=True)
class Guards:
    """What the guards decided on the host: run, skip or error (None: they printed nothing), and why."""

    decision: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Command(Resource[Guards]):
    """A command (an argv list, not a shell string) run as root unless its guards skip it.

    Example: `command: {argv: [/usr/local/sbin/init-db], creates: /var/lib/db/.initialised}`

    Without `creates`, `removes`, `unless` or `onlyif` it runs on every apply. For a shell,
    say so: `argv: [sh, -c, "..."]`. `unless`/`onlyif` run during every probe (also in
    check and drift runs), with no stdin and a 60 s timeout: they must only look.
    """

    argv: tuple[str, ...]
    creates: str | None = None
    removes: str | None = None
    unless: tuple[str, ...] | None = None
    onlyif: tuple[str, ...] | None = None
    chdir: str | None = None
    timeout: int = 600
    stdin: str | None = None
    type: ClassVar[str] = "command"

    @property
    def id(self) -> str:
        return f"{self.type}[{command_line(self.argv)}]"

    @property
    def guarded(self) -> bool:
        return any(g is not None for g in (self.creates, self.removes, self.unless, self.onlyif))

    @property
    def checkable(self) -> bool:
        """Without a guard it runs on every apply: "would run" says nothing about drift."""
        return self.guarded

    def validate(self) -> list[str]:
        problems: list[str] = []
        if not self.argv or not self.argv[0]:
            problems.append("argv must name a command")
        elif "=" in self.argv[0] or self.argv[0].startswith("-"):
            problems.append(f"argv[0] {self.argv[0]!r} must be a command (no '=', no leading '-')")
        for label, guard in (("unless", self.unless), ("onlyif", self.onlyif)):
            if guard is not None and (not guard or not guard[0]):
                problems.append(f"{label} must be a non-empty command")
        if self.timeout <= 0:
            problems.append(f"timeout must be positive, got {self.timeout}")
        values = (*self.argv, *(self.unless or ()), *(self.onlyif or ()), self.stdin or "")
        if any("\0" in value for value in values):
            problems.append("arguments must not contain NUL bytes")
        return problems

    def _in_dir(self, argv: tuple[str, ...]) -> tuple[str, ...]:
        return ("env", "-C", self.chdir, "--", *argv) if self.chdir else argv

    def action(self) -> Run:
        """The Run that executes the command."""
        stdin = self.stdin.encode("utf-8") if self.stdin is not None else None
        return Run(self._in_dir(self.argv), stdin, self.timeout)

    def touches(self) -> Touches:
        """Reads the paths its `creates`/`removes` test (anything, with `unless`/`onlyif`, which run
        commands; nothing without a guard); the command itself may write anything."""
        if self.unless is not None or self.onlyif is not None:
            return Touches()
        tested = [p for p in (self.creates, self.removes, self.chdir) if p is not None]
        return touches({("path", p) for p in tested}, EVERYTHING)

    def probe(self) -> str:
        if not self.guarded:
            return "echo decision=run\n"
        parts = [f"d=run r={quote('no guard stopped it')}"]
        if self.chdir:
            parts.append(_test(f"[ ! -d {quote(self.chdir)} ]", "error",
                               f"chdir {self.chdir} is not a directory"))
        if self.creates:
            path = quote(self.creates)
            parts.append(_test(f"{{ [ -e {path} ] || [ -L {path} ]; }}", "skip", f"{self.creates} exists"))
        if self.removes:
            path = quote(self.removes)
            parts.append(_test(f"[ ! -e {path} ] && [ ! -L {path} ]", "skip",
                               f"{self.removes} does not exist"))
        if self.unless:
            parts.append(self._guard("unless", self.unless))
        if self.onlyif:
            parts.append(self._guard("onlyif", self.onlyif))
        parts.append('echo "decision=$d"; echo "reason=$r"')
        return "\n".join(parts) + "\n"

    def _guard(self, label: str, argv: tuple[str, ...]) -> str:
        """sh that runs a guard command and sets d/r from its exit code."""
        shown = f"{label} {command_line(argv)}"
        success = f"d=skip r={quote(shown + ' succeeded')}" if label == "unless" else ""
        failure = f"d=skip r={quote(shown + ' failed')}\" (exit $c)\"" if label == "onlyif" else ""
        run = command_line(("timeout", "-k", "5", str(GUARD_TIMEOUT), *self._in_dir(argv)))
        return (f"if [ $d = run ]; then {run} </dev/null >/dev/null 2>&1; c=$?\n"
                f"  case $c in {_NOT_RUN}) d=error r={quote(shown + ' did not complete')}\" (exit $c)\";;\n"
                f"  0) {success};;\n  *) {failure};;\n  esac\nfi")

    def parse(self, text: str) -> Guards:
        seen = field_lines(text)
        return Guards(seen.get("decision"), seen.get("reason", ""))

    def plan(self, observed: Guards) -> Step:
        if not self.guarded:
            return change("runs every time (no creates/unless/onlyif)", self.action())
        decision, reason = observed.decision, observed.reason
        if decision == "run":
            return change(f"would run: {command_line(self.argv)}", self.action())
        if decision == "skip":
            return ok(reason)
        if decision == "error":
            return unknown(reason)
        return unknown("the guards could not be evaluated")

    def checks(self) -> list[Check]:
        if not self.creates:
            return []
        path = self.creates

        def verify(host: Any) -> None:
            assert host.file(path).exists, f"{path} does not exist after running {self.argv[0]}"
        return [Check(f"{path} exists", verify)]


def _test(condition: str, decision: str, reason: str) -> str:
    """sh that sets the decision when `condition` holds and no earlier guard decided."""
    return f"if [ $d = run ] && {condition}; then d={decision} r={quote(reason)}; fi"
