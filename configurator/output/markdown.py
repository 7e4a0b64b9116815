"""The drift summary in Markdown: short enough for chat or email, with the diff of each drifted file."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from configurator.checks.findings import Finding, HostDrift
from configurator.checks.history import Classes
from configurator.connections.streams import clip as clip_line
from configurator.engine import exitcodes
from configurator.engine.status import DriftStatus
from configurator.output import junit

DIFF_LINES = 40  # per finding; the JSON report has the whole diff
OUTCOME = {exitcodes.OK: "no drift", exitcodes.FAILED: "a host failed", exitcodes.CHANGES: "drift found",
           exitcodes.UNREACHABLE: "a host was unreachable"}


def fence(text: str) -> str:
    """A code fence longer than any run of backticks in `text` (so a diff cannot close it early)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def clip(diff: str, limit: int = DIFF_LINES) -> str:
    """At most `limit` lines of a diff, saying how many were left out."""
    lines = diff.rstrip("\n").splitlines()
    if len(lines) <= limit:
        return "\n".join(lines)
    return "\n".join(lines[:limit] + [f"... {len(lines) - limit} more lines (see drift.json)"])


def _label(classes: Classes, f: Finding) -> str:
    label = "**new**" if f.key in classes.new else f"still present since {classes.still.get(f.key, '?')}"
    if f.waiver is not None and f.waived:
        return f"waived until {f.waiver.expires.date()} ({f.waiver.reason}), {label}"
    if f.waiver is not None:
        return f"{label}, waiver expired {f.waiver.expires.date()}"
    return label


def _finding(f: Finding, classes: Classes, redact: Callable[[str], str]) -> list[str]:
    what = "resource" if f.kind == "resource" else "role test"
    head = f"- {_label(classes, f)}: {what} `{f.subject}`" + (f" (role {f.role})" if f.role else "")
    lines = [head + (f": {redact(f.summary)}" if f.summary else "")]
    for name, message in f.checks:
        label = name.removeprefix(f"{f.subject}: ")
        text = junit.headline(redact(message)) or "failed"
        lines.append(f"  - {text}" if label == f.subject else f"  - check {label}: {text}")
    if f.diff:
        body = clip(redact(f.diff))
        mark = fence(body)
        lines += [f"  {mark}diff", *(f"  {line}" for line in body.splitlines()), f"  {mark}"]
    return lines


def _table(hosts: Sequence[HostDrift], classes: Classes) -> list[str]:
    lines = ["| host | status | new | still present | resolved |", "|---|---|---|---|---|"]
    for h in hosts:
        new = sum(f.key in classes.new for f in h.findings)
        resolved = sum(k[0] == h.host for k in classes.resolved)
        lines.append(f"| {h.host} | {h.status} | {new} | {len(h.findings) - new} | {resolved} |")
    return lines


def render(hosts: Sequence[HostDrift], classes: Classes, at: str, code: int,
           redact: Callable[[str], str] = str) -> str:
    """The whole summary."""
    resources = sum(f.kind == "resource" for h in hosts for f in h.drifted)
    tests = sum(f.kind != "resource" for h in hosts for f in h.drifted)
    drifted = sum(h.status == DriftStatus.DRIFT for h in hosts)
    previous = f"previous run {classes.previous_run}" if classes.previous_run else "first recorded run"
    title = f"{resources} resources drifted, {tests} role tests failed, on {drifted} of {len(hosts)} hosts" \
        if resources or tests else f"none on {len(hosts)} hosts"
    out = [f"# Drift: {title}", "",
           f"Run {at}, {previous}; exit {code} ({OUTCOME.get(code, '?')}). "
           f"{len(classes.new)} new, {len(classes.still)} still present, {len(classes.resolved)} resolved.",
           "", *_table(hosts, classes)]
    for h in hosts:
        if h.findings:
            out += ["", f"## {h.host}", ""]
            for f in h.findings:
                out += _finding(f, classes, redact)
    if classes.resolved:
        out += ["", "## Resolved since the last run", ""]
        out += [f"- {host}: `{subject}` (present since {since})"
                for (host, subject), since in sorted(classes.resolved.items())]
    out += _unchecked(hosts)
    troubled = [h for h in hosts if h.status in (DriftStatus.UNREACHABLE, DriftStatus.ERROR)]
    if troubled:
        out += ["", "## Not checked", ""]
        out += [f"- {h.host} {h.status}: {clip_line(redact(h.error).strip().replace(chr(10), ' / '))}"
                for h in troubled]
    return "\n".join(out) + "\n"


def _unchecked(hosts: Sequence[HostDrift]) -> list[str]:
    """The resources check mode cannot judge, listed apart (never counted as drift)."""
    rows = [f"- {h.host}: " + ", ".join(f"`{s.id}`" for s in h.unchecked) for h in hosts if h.unchecked]
    if not rows:
        return []
    return ["", "## Not checkable", "", "Check mode cannot tell whether these drifted (a command without "
            "`creates`/`unless`/`onlyif`, or `checkable: false` in the role):", "", *rows]
