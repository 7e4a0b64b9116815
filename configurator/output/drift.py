"""Reports of a drift run: the JSON document, the JUnit cases and the three files of `--report DIR`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from configurator.checks import history
from configurator.checks.findings import Finding, HostDrift
from configurator.connections.streams import clip
from configurator.engine import exitcodes
from configurator.engine.status import DriftStatus
from configurator.output import junit, report

Redact = Callable[[str], str]
NOT_CHECKED = (DriftStatus.UNREACHABLE, DriftStatus.ERROR)


def as_json(hosts: Sequence[HostDrift], classes: history.Classes, at: str, redact: Redact) -> dict[str, Any]:
    """The machine report of a drift run."""
    def finding(f: Finding) -> dict[str, Any]:
        return {"kind": f.kind, "subject": f.subject, "role": f.role, "state": classes.state(f.key),
                "since": classes.still.get(f.key, at), "summary": redact(f.summary), "diff": redact(f.diff),
                "checks": [{"name": n, "message": redact(m)} for n, m in f.checks], "waived": f.waived,
                "waiver": waiver_json(f)}

    entries = [{"host": h.host, "status": h.status, "error": clip(redact(h.error)),
                "findings": [finding(f) for f in h.findings], "not_checkable": [s.id for s in h.unchecked]}
               for h in hosts]
    resolved = [{"host": host, "subject": subject, "since": since}
                for (host, subject), since in sorted(classes.resolved.items())]
    code = exitcodes.drift(h.status for h in hosts)
    return {**report.json_head("drift"), "at": at, "previous_run": classes.previous_run, "exit_code": code,
            "summary": summary(hosts, classes), "hosts": entries, "resolved": resolved}


def waiver_json(f: Finding) -> dict[str, Any] | None:
    """The waiver naming a finding (held or expired), for the JSON report."""
    w = f.waiver
    return None if w is None else {"reason": w.reason, "expires": w.expires.isoformat(), "holds": f.waived,
                                   "where": str(w.where)}


def summary(hosts: Sequence[HostDrift], classes: history.Classes) -> dict[str, int]:
    """Counts for the top of every report (`findings`, `resources`, `checks`: drift only, not the waived)."""
    found = [f for h in hosts for f in h.drifted]
    statuses = [h.status for h in hosts]
    return {"hosts": len(hosts), "drifted_hosts": statuses.count(DriftStatus.DRIFT), "findings": len(found),
            "resources": sum(f.kind == "resource" for f in found), "checks": sum(f.kind != "resource" for f in found),
            "waived": sum(f.waived for h in hosts for f in h.findings),
            "not_checkable": sum(len(h.unchecked) for h in hosts),
            "new": len(classes.new), "still": len(classes.still), "resolved": len(classes.resolved),
            "unreachable": statuses.count(DriftStatus.UNREACHABLE), "errors": statuses.count(DriftStatus.ERROR)}


def junit_cases(hosts: Sequence[HostDrift], redact: Redact) -> list[junit.Case]:
    """A testcase per resource and role test of each host; drifted ones fail, unreachable hosts error."""
    cases: list[junit.Case] = []
    for h in hosts:
        if h.status in NOT_CHECKED:
            cases.append(junit.Case(h.host, "host", "error", clip(redact(f"{h.status}: {h.error}"))))
            continue
        by_subject = {f.subject: f for f in h.findings}
        unchecked = {s.id for s in h.unchecked}
        subjects = [s.id for s in h.steps] + [c.subject for c in h.checks]
        for subject in dict.fromkeys(subjects):
            seconds = sum(c.seconds for c in h.checks if c.subject == subject)
            status, text = _case(by_subject.get(subject), subject in unchecked)
            cases.append(junit.Case(h.host, subject, status, redact(text), seconds))
    return cases


def _case(f: Finding | None, unchecked: bool) -> tuple[junit.Status, str]:
    """A subject's JUnit status and text: drift fails; a waived finding or a resource not checkable is skipped."""
    if f is not None and f.waived and f.waiver is not None:
        return "skipped", f"waived until {f.waiver.expires.date()}: {f.waiver.reason}\n{_evidence(f)}"
    if f is not None:
        return "failed", _evidence(f)
    return ("skipped", "not checkable: check mode cannot tell whether it drifted") if unchecked else ("passed", "")


def _evidence(f: Finding) -> str:
    parts = [f"drift: {f.summary}"] if f.summary else []
    parts += [f"{name}: {message}" for name, message in f.checks]
    if f.diff:
        parts.append(f.diff)
    return "\n".join(parts)


def write_reports(folder: Path, hosts: Sequence[HostDrift], classes: history.Classes, at: str,
                  redact: Redact, markdown: str) -> None:
    """drift.json, drift.xml and drift.md in `folder`."""
    report.write_json(folder / "drift.json", as_json(hosts, classes, at, redact))
    junit.write(folder / "drift.xml", "configure drift", junit_cases(hosts, redact))
    report.write_text(folder / "drift.md", markdown)


def history_text(rows: Sequence[history.Row], lines: int = 20) -> str:
    """`configure drift history`: each finding with when it was first and last seen, or resolved, and
    its redacted evidence (at most `lines` lines of it)."""
    if not rows:
        return "No findings in the history for this selection.\n"
    out: list[str] = []
    for row in rows:
        state = f"resolved {row.resolved}" if row.resolved else "open"
        out.append(f"{row.host}  {row.subject}  first seen {row.first_seen}  last seen {row.last_seen}  {state}")
        body = row.detail.rstrip("\n").splitlines()
        out += [f"    {line}" for line in body[:lines]]
        if len(body) > lines:
            out.append(f"    ... {len(body) - lines} more lines")
    return "\n".join(out) + "\n"
