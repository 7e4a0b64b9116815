"""Reports: the console (plan lines, diffs, recap) and the JSON file."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from configurator import __version__
from configurator.connections.streams import clip
from configurator.engine.executor import HostResult
from configurator.engine.plan import Planned
from configurator.engine.status import HostStatus, StepStatus
from configurator.output import planview
from configurator.output import rollout as rollout_view

if TYPE_CHECKING:  # rich and the XML writer load only when a run needs them (start-up time)
    from rich.console import Console as RichConsole

    from configurator.output import junit
    from configurator.output.liveview import LiveHosts

JSON_SCHEMA_VERSION = 2  # 2: each host's batch and start/end times, the batch hooks
Redact = Callable[[str], str]
MARKS = {StepStatus.OK: " ", StepStatus.UNKNOWN: "?", StepStatus.FAILED: "!", StepStatus.SKIPPED: ".",
         StepStatus.HANDLER: "*"}  # a pending or changed step shows the kind of its change instead
WORDS = {StepStatus.PENDING: "would change", StepStatus.HANDLER: "ran"}
FOLDED = (StepStatus.PENDING, StepStatus.UNKNOWN)  # check mode shows these in the folded plan instead
ACTED = (StepStatus.PENDING, StepStatus.CHANGED, StepStatus.FAILED, StepStatus.HANDLER)  # -vv lists their actions


def _plain(text: str) -> str:
    return text


class Console:
    """Line output, safe to call from host threads; secrets pass through `redact`.

    Plain text goes straight to `out`; rich is used only for colour on a terminal or to record
    the output for a picture (`record`).
    """

    def __init__(self, out: TextIO | None = None, diff: bool = False, verbose: int = 0,
                 redact: Redact = _plain, plan: bool = False, color: bool | None = None,
                 record: bool = False) -> None:
        self.diff = diff
        self.verbose = verbose
        self.redact = redact
        self.plan = plan  # check mode: pending steps are shown folded at the end, not one by one
        self.lock = threading.Lock()
        out = out if out is not None else sys.stdout  # the stdout of now: a default is bound at import
        self.out = out
        self.color = color if color is not None else (out.isatty() and "NO_COLOR" not in os.environ
                                                      and os.environ.get("CI") != "true")
        self.live: LiveHosts | None = None
        self.rich = _rich_console(out, self.color) if self.color or record else None

    def write(self, text: str) -> None:
        with self.lock:
            if self.rich is None:
                self.out.write(self.redact(text))
                self.out.flush()
                return
            for line in self.redact(text).splitlines(keepends=True):
                self.rich.print(line, end="", style=_style(line))
            self.rich.file.flush()

    def save_svg(self, path: Path, title: str) -> None:
        """The recorded output as an SVG picture (the console must be made with `record`)."""
        if self.rich is None:
            raise ValueError("this console does not record its output")
        self.rich.save_svg(str(path), title=title)

    def step(self, host: str, item: Planned, outcome: StepStatus) -> None:
        """One line per step that is not ok (all lines with -v)."""
        if self.live is not None:
            self.live.step(host, item, outcome)
        if (outcome == StepStatus.OK and self.verbose < 1) or (self.plan and outcome in FOLDED):
            return
        mark = MARKS.get(outcome, planview.SYMBOLS.get(item.step.kind, "~"))
        word = WORDS.get(outcome, outcome)
        line = f"{host}: {mark} {item.id} {word}"
        if item.step.summary:
            line += f": {item.step.summary}"
        text = line + "\n"
        if self.verbose >= 2 and outcome in ACTED:
            text += "".join(f"    $ {action.describe()}\n" for action in item.step.actions)
        if self.diff and item.step.diff and outcome in (StepStatus.PENDING, StepStatus.CHANGED):
            text += "".join(f"    {d}\n" for d in safe_diff(item.step.diff, self.redact).splitlines())
        self.write(text)

    @contextlib.contextmanager
    def progress(self, hosts: list[str], verb: str,
                 labels: dict[str, str] | None = None) -> Iterator[Callable[[HostResult], None]]:
        """A live table of the hosts on a terminal (step lines print above it), with each host's batch
        (`labels`); nothing otherwise."""
        if self.rich is None or not self.color or not self.rich.is_terminal or not hosts:
            yield lambda result: None
            return
        from rich.live import Live

        from configurator.output.liveview import LiveHosts

        self.live = LiveHosts(hosts, verb, labels)
        try:
            with Live(get_renderable=self.live.render, console=self.rich, transient=True, refresh_per_second=8):
                yield self.live.done
        finally:
            self.live = None

    def plan_view(self, results: list[HostResult]) -> None:
        """The folded plan of a check run."""
        self.write("\n" + planview.render(planview.fold(results), self.diff, results))

    def recap(self, results: list[HostResult], seconds: float) -> None:
        """The final table: per host its batch, counts, round trips and time; then the batch hooks."""
        width = max([len(r.host) for r in results] + [4])
        batches = rollout_view.labels(results)
        lines = ["", "RECAP"]
        for r in results:
            counts = _counts(r)
            lines.append(f"{r.host:<{width}}  {r.status:<11} {batches.get(r.host, '')}ok={counts[StepStatus.OK]} "
                         f"changed={counts[StepStatus.CHANGED]} pending={counts[StepStatus.PENDING]} "
                         f"failed={counts[StepStatus.FAILED]}  "
                         f"{r.round_trips} round trips  {r.seconds:.2f}s")
            if r.error:
                lines.append(f"{'':<{width}}  error: {clip(self.redact(r.error))}")
            if r.outcome.handlers:
                lines.append(f"{'':<{width}}  handlers: {', '.join(r.outcome.handlers)}")
        lines += rollout_view.hook_lines(results, self.redact)
        lines.append(f"{len(results)} hosts in {seconds:.2f}s")
        self.write("\n".join(lines) + "\n")


def _rich_console(out: TextIO, color: bool) -> RichConsole:
    from rich.console import Console as RichConsole

    return RichConsole(file=out, highlight=False, markup=False, no_color=not color,
                       force_terminal=color or None, soft_wrap=True, record=True)


def _style(line: str) -> str:
    text = line.lstrip()
    if text.startswith(("+", "RECAP")) or " changed" in line[:60]:
        return "green" if text.startswith("+") else "bold"
    if text.startswith(("-", "!")) or "error:" in line or " failed" in line[:40] or "unreachable" in line[:40]:
        return "red"
    if text.startswith(("~", "?", "Plan:")):
        return "yellow"
    return ""


def safe_diff(diff: str, redact: Redact) -> str:
    """A diff that touches a secret is hidden whole: masking only the value would still show its shape."""
    return diff if redact(diff) == diff else "(diff hidden: it contains a secret value)\n"


def _counts(result: HostResult) -> dict[StepStatus, int]:
    counts = dict.fromkeys(StepStatus, 0)
    for _, status in result.outcome.steps:
        counts[status] += 1
    return counts


def as_json(results: list[HostResult], command: str, redact: Redact = _plain) -> dict[str, Any]:
    """The machine report (schema documented in docs/json-schema.json)."""
    hosts = []
    for r in results:
        steps = [{"resource": p.id, "role": p.entry.role, "status": status, "summary": redact(p.step.summary),
                  "diff": safe_diff(p.step.diff, redact), "where": str(p.entry.where), "tags": list(p.entry.tags)}
                 for p, status in r.outcome.steps]
        hosts.append({"host": r.host, "status": r.status, "error": clip(redact(r.error)), "round_trips": r.round_trips,
                      "seconds": round(r.seconds, 3), **rollout_view.host_json(r), "handlers": r.outcome.handlers,
                      "steps": steps})
    return {**json_head(command), "hosts": hosts, "hooks": rollout_view.hooks_json(results, redact)}


def json_head(command: str) -> dict[str, Any]:
    """The keys every JSON report (apply, check, verify, drift) starts with."""
    return {"schema_version": JSON_SCHEMA_VERSION, "tool": "configurator", "version": __version__, "command": command}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a JSON report atomically."""
    write_text(path, json.dumps(data, indent=2) + "\n")


def write_text(path: Path, text: str) -> None:
    """Write a report atomically (a CI job or a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def junit_cases(results: list[HostResult], redact: Redact = _plain) -> list[junit.Case]:
    """One testcase per host and resource; a failed, pending or unreachable one is a failure."""
    from configurator.output import junit

    cases: list[junit.Case] = []
    for r in results:
        if r.status in (HostStatus.UNREACHABLE, HostStatus.SKIPPED) or (r.error and not r.outcome.steps):
            cases.append(junit.Case(r.host, "connect", "error", clip(redact(r.error))))
        for planned, status in r.outcome.steps:
            bad = status in (StepStatus.FAILED, StepStatus.PENDING, StepStatus.UNKNOWN)
            text = clip(redact(f"{status}: {planned.step.summary}\n{planned.step.diff}".strip()))
            kind: junit.Status = "failed" if bad else "skipped" if status == StepStatus.SKIPPED else "passed"
            cases.append(junit.Case(r.host, planned.id, kind, text if kind != "passed" else ""))
    return cases
