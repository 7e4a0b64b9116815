"""`configure drift`: plan without writing plus verify, for the whole inventory; report and remember findings."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from configurator.checks import history
from configurator.checks.findings import Finding, HostDrift, StepView, findings
from configurator.checks.results import CheckResult
from configurator.checks.verify import load_checked_catalogs, verify_host
from configurator.cli import arguments
from configurator.connections.base import Connection as Session
from configurator.engine import executor
from configurator.model.catalog import Catalog
from configurator.output import junit, report
from configurator.output.markdown import render as render_markdown

Redact = Callable[[str], str]
CLEAN, DRIFT, ERROR, UNREACHABLE = 0, 2, 1, 3


def drift_host(catalog: Catalog, options: executor.Options) -> HostDrift:
    """Check mode, then verify on the same connection (only a host that could be planned); nothing is written."""
    checks: list[CheckResult] = []

    def verify_here(catalog: Catalog, result: executor.HostResult, session: Session) -> None:
        checks.extend(verify_host(catalog, options.accept_new, result.outcome.facts, options.sudo_password, session))

    result = executor.run_host(catalog, replace(options, after=verify_here), lambda host, item, outcome: None)
    steps = [StepView(p.id, p.entry.role, status, p.step.summary, p.step.diff) for p, status in result.outcome.steps]
    if result.status == "unreachable":
        return HostDrift(result.host, "unreachable", result.error, steps)
    if result.status not in ("ok", "pending"):
        return HostDrift(result.host, "error", result.error or result.status, steps)
    trouble = [c for c in checks if c.kind == "host"]
    if trouble:
        return HostDrift(result.host, "unreachable" if trouble[0].status == "unreachable" else "error",
                         trouble[0].message, steps, checks)
    found = findings(result.host, steps, checks)
    return HostDrift(result.host, "drift" if found else "clean", "", steps, checks, found)


def drift_all(catalogs: Sequence[Catalog], options: executor.Options) -> list[HostDrift]:
    """Every host in parallel (drift writes nothing, so rolling batches do not apply)."""
    with ThreadPoolExecutor(max_workers=max(1, min(options.forks, len(catalogs)))) as pool:
        return list(pool.map(lambda c: drift_host(c, options), catalogs))


def exit_code(hosts: Sequence[HostDrift]) -> int:
    """1 a host failed, 3 a host unreachable, 2 drift found, else 0 (the order of `configure check`)."""
    statuses = {h.status for h in hosts}
    for status, code in (("error", ERROR), ("unreachable", UNREACHABLE), ("drift", DRIFT)):
        if status in statuses:
            return code
    return CLEAN


def classify(hosts: Sequence[HostDrift], folder: Path | None, at: str) -> history.Classes:
    """Record this run in the folder's history (without a folder, every finding is new)."""
    current = [f.key for h in hosts for f in h.findings]
    checked = [h.host for h in hosts if h.status in ("clean", "drift")]
    if folder is None:
        return history.classify(current, {}, checked)
    with history.History(folder / "history.sqlite") as db:
        return db.record(current, checked, at)


def as_json(hosts: Sequence[HostDrift], classes: history.Classes, at: str, redact: Redact) -> dict[str, Any]:
    """The machine report of a drift run."""
    def finding(f: Finding) -> dict[str, Any]:
        return {"kind": f.kind, "subject": f.subject, "role": f.role, "state": classes.state(f.key),
                "since": classes.still.get(f.key, at), "summary": redact(f.summary), "diff": redact(f.diff),
                "checks": [{"name": n, "message": redact(m)} for n, m in f.checks]}

    entries = [{"host": h.host, "status": h.status, "error": redact(h.error),
                "findings": [finding(f) for f in h.findings]} for h in hosts]
    resolved = [{"host": host, "subject": subject, "since": since}
                for (host, subject), since in sorted(classes.resolved.items())]
    return {**report.json_head("drift"), "at": at, "previous_run": classes.previous_run, "exit_code": exit_code(hosts),
            "summary": summary(hosts, classes), "hosts": entries, "resolved": resolved}


def summary(hosts: Sequence[HostDrift], classes: history.Classes) -> dict[str, int]:
    """Counts for the top of every report."""
    found = [f for h in hosts for f in h.findings]
    return {"hosts": len(hosts), "drifted_hosts": sum(h.status == "drift" for h in hosts), "findings": len(found),
            "resources": sum(f.kind == "resource" for f in found), "checks": sum(f.kind != "resource" for f in found),
            "new": len(classes.new), "still": len(classes.still), "resolved": len(classes.resolved),
            "unreachable": sum(h.status == "unreachable" for h in hosts),
            "errors": sum(h.status == "error" for h in hosts)}


def junit_cases(hosts: Sequence[HostDrift], redact: Redact) -> list[junit.Case]:
    """A testcase per resource and role test of each host; drifted ones fail, unreachable hosts error."""
    cases: list[junit.Case] = []
    for h in hosts:
        if h.status in ("unreachable", "error"):
            cases.append(junit.Case(h.host, "host", "error", redact(f"{h.status}: {h.error}")))
            continue
        by_subject = {f.subject: f for f in h.findings}
        subjects = [s.id for s in h.steps] + [c.subject for c in h.checks]
        for subject in dict.fromkeys(subjects):
            f = by_subject.get(subject)
            seconds = sum(c.seconds for c in h.checks if c.subject == subject)
            cases.append(junit.Case(h.host, subject, "failed" if f else "passed",
                                    redact(_evidence(f)) if f else "", seconds))
    return cases


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


def run(catalogs: Sequence[Catalog], options: executor.Options, folder: Path | None,
        redact: Redact = str) -> tuple[int, str]:
    """A whole drift run: check, verify, classify, report; returns the exit code and the Markdown."""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    hosts = drift_all(catalogs, options)
    code = exit_code(hosts)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    classes = classify(hosts, folder, at)
    text = render_markdown(hosts, classes, at, code, redact)
    if folder is not None:
        write_reports(folder, hosts, classes, at, redact, text)
    return code, text


def cmd_drift(args: argparse.Namespace) -> int:
    """drift."""
    catalogs = load_checked_catalogs(args)
    options = executor.Options(check=True, forks=args.forks, accept_new=args.accept_new,
                               sudo_password=arguments.become_password(args))
    code, text = run(catalogs, options, args.report, args.redactor.redact)
    if code != CLEAN or not args.quiet:
        print(text, end="")
    return code


def add_parser(subparsers: Any, text: str) -> None:
    """Register `configure drift`."""
    p = subparsers.add_parser("drift", help=text)
    arguments.remote(p)
    p.add_argument("--report", type=Path, metavar="DIR",
                   help="write drift.json, drift.xml, drift.md here and keep history.sqlite")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print the summary only when there is something to say (cron mails only then)")
    p.set_defaults(func=cmd_drift)
