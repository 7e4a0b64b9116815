"""Reports of a verify run: console lines, the JSON document and the JUnit cases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from configurator.checks.results import CheckResult, counts, host_status
from configurator.engine.status import CheckStatus
from configurator.output import junit, report

ByHost = dict[str, list[CheckResult]]
# a check's status as a JUnit case: an unreachable host is an error (it could not be checked)
JUNIT_STATUS: dict[CheckStatus, junit.Status] = {
    CheckStatus.PASSED: "passed", CheckStatus.FAILED: "failed", CheckStatus.ERROR: "error",
    CheckStatus.SKIPPED: "skipped", CheckStatus.UNREACHABLE: "error"}


def as_json(by_host: ByHost, redact: report.Redact = str) -> dict[str, Any]:
    """The machine report of a verify run."""
    hosts = []
    for host, results in by_host.items():
        checks = [{**r.as_dict(), "message": redact(r.message)} for r in results]
        hosts.append({"host": host, "status": host_status(results), "checks": checks, "counts": counts(results)})
    return {**report.json_head("verify"), "hosts": hosts}


def junit_cases(by_host: ByHost, redact: report.Redact = str) -> list[junit.Case]:
    """One testcase per host and check, classname = host; an unreachable host is one errored case."""
    return [junit.Case(r.host, r.name, JUNIT_STATUS[r.status], redact(r.message), r.seconds)
            for results in by_host.values() for r in results]


def lines(host: str, results: Sequence[CheckResult], verbose: int = 0) -> str:
    """Console text for one host: failures with their reason (every check with -v), then a count line."""
    out = []
    for r in results:
        if r.failed or r.status == CheckStatus.UNREACHABLE or verbose:
            reason = f": {r.message.strip()}" if r.message.strip() else ""
            out.append(f"{host}: {r.status.upper():<11} {r.name}{reason}".replace("\n", "\n    "))
    shown = counts(results, tuple(CheckStatus)[:-1])  # the host line itself says "unreachable"
    out.append(f"{host}: {host_status(results)}  " + " ".join(f"{k}={v}" for k, v in shown.items()))
    return "\n".join(out) + "\n"


def summary(by_host: ByHost, code: int) -> str:
    """The last line of a verify run."""
    ran = [r for results in by_host.values() for r in results if r.kind != "host"]
    unreachable = sum(host_status(r) == CheckStatus.UNREACHABLE for r in by_host.values())
    return (f"\nverify: {len(by_host)} hosts ({unreachable} unreachable), {len(ran)} checks, "
            f"{sum(r.failed for r in ran)} failed; exit {code}\n")
