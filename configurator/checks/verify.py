"""`configure verify`: testinfra checks generated from each host's resources, plus its roles' own tests."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from configurator.checks.results import CheckResult, run_check
from configurator.cli import arguments
from configurator.connections.base import Connection as Session
from configurator.engine import executor
from configurator.engine.plan import applies
from configurator.errors import ConfigureError, Unreachable
from configurator.model.catalog import Catalog
from configurator.output import junit, report

if TYPE_CHECKING:  # testinfra and pytest load only when something is verified (apply stays fast to start)
    from configurator.checks import role_tests
    from configurator.checks.connection import Connection

__all__ = ["AfterApply", "CheckResult", "add_parser", "exit_code", "verify_all", "verify_host"]

PASSED, FAILED, UNREACHABLE = 0, 4, 3
STATUSES = ("passed", "failed", "error", "skipped", "unreachable")
Done = Callable[[str, list[CheckResult]], None]


def role_vars(catalog: Catalog) -> dict[str, Any]:
    """What a role test sees as `role_vars`: the merged variables and the names templates see."""
    return dict(catalog.context)


def load_role_tests(catalog: Catalog) -> list[role_tests.RoleTest]:
    """Every role test of the host's roles (a test that does not load is bad input, found before connecting)."""
    from configurator.checks import role_tests

    return [t for role in catalog.roles for t in role_tests.discover(role.name, role.path)]


def load_checked_catalogs(args: argparse.Namespace) -> list[Catalog]:
    """The selected hosts' catalogs, role tests loaded: a bad test is bad input (exit 65) before any connection."""
    from configurator.cli.commands import load_catalogs  # the CLI imports this module to register the command

    _, catalogs = load_catalogs(args)
    for catalog in catalogs:
        load_role_tests(catalog)
    return catalogs


def verify_host(catalog: Catalog, accept_new: bool = False, facts: dict[str, str] | None = None,
                sudo_password: str | None = None, session: Session | None = None) -> list[CheckResult]:
    """Connect once and run every generated check and role test of one host; never raises for host problems."""
    name = catalog.host.name
    try:
        tests = load_role_tests(catalog)
        from configurator.checks.connection import Connection

        with Connection(catalog.host, accept_new, sudo_password, session) as conn:
            # a lent session already holds the host's lock and knows the facts
            seen = facts if session is not None and facts is not None else conn.facts()
            return _resource_checks(catalog, conn, seen) + _role_checks(catalog, conn, tests)
    except Unreachable as exc:
        return [CheckResult(name, "connect", "host", "host", status="unreachable", message=str(exc))]
    except ConfigureError as exc:
        return [CheckResult(name, "connect", "host", "host", status="error", message=str(exc))]
    except Exception as exc:  # noqa: BLE001 - one broken host never stops the others
        return [CheckResult(name, "connect", "host", "host", status="error", message=f"{type(exc).__name__}: {exc}")]


def _resource_checks(catalog: Catalog, conn: Connection, facts: dict[str, str]) -> list[CheckResult]:
    results = []
    for entry in catalog.entries:
        if not applies(entry, facts, catalog.context):
            continue
        resource = entry.resource
        for check in resource.checks():
            results.append(run_check(partial(check.test, conn.host), host=catalog.host.name,
                                     name=f"{resource.id}: {check.name}", kind="resource",
                                     subject=resource.id, role=entry.role))
    return results


def _role_checks(catalog: Catalog, conn: Connection, tests: list[role_tests.RoleTest]) -> list[CheckResult]:
    fixtures = {"host": conn.host, "role_vars": role_vars(catalog)}
    results = []
    for test in tests:
        what: dict[str, Any] = {"host": catalog.host.name, "name": test.id, "kind": "role",
                                "subject": test.id, "role": test.role}
        reason = test.skip_reason
        if reason is not None:
            results.append(CheckResult(status="skipped", message=reason, **what))
            continue
        results.append(run_check(partial(test.call, fixtures), **what))
    return results


def verify_all(catalogs: Sequence[Catalog], forks: int = executor.DEFAULT_FORKS, accept_new: bool = False,
               done: Done = lambda host, results: None, sudo_password: str | None = None,
               ) -> dict[str, list[CheckResult]]:
    """Verify hosts in parallel; host name -> its results, in inventory order."""
    def one(catalog: Catalog) -> list[CheckResult]:
        found = verify_host(catalog, accept_new, sudo_password=sudo_password)
        done(catalog.host.name, found)
        return found

    with ThreadPoolExecutor(max_workers=max(1, min(forks, len(catalogs)))) as pool:
        found = list(pool.map(one, catalogs))
    return {c.host.name: r for c, r in zip(catalogs, found, strict=True)}


def host_status(results: Sequence[CheckResult]) -> str:
    """passed | failed | unreachable for one host."""
    if any(r.status == "unreachable" for r in results):
        return "unreachable"
    return "failed" if any(r.failed for r in results) else "passed"


def counts(results: Sequence[CheckResult], statuses: Sequence[str] = STATUSES) -> dict[str, int]:
    """How many checks ended in each of `statuses`."""
    return {s: sum(r.status == s for r in results) for s in statuses}


def exit_code(by_host: dict[str, list[CheckResult]]) -> int:
    """4 when a check failed (or could not run), 3 when a host was unreachable, else 0."""
    statuses = {host_status(r) for r in by_host.values()}
    if "failed" in statuses:
        return FAILED
    return UNREACHABLE if "unreachable" in statuses else PASSED


def as_json(by_host: dict[str, list[CheckResult]], redact: report.Redact = str) -> dict[str, Any]:
    """The machine report of a verify run."""
    hosts = []
    for host, results in by_host.items():
        checks = [{**r.as_dict(), "message": redact(r.message)} for r in results]
        hosts.append({"host": host, "status": host_status(results), "checks": checks, "counts": counts(results)})
    return {**report.json_head("verify"), "hosts": hosts}


def junit_cases(by_host: dict[str, list[CheckResult]], redact: report.Redact = str) -> list[junit.Case]:
    """One testcase per host and check, classname = host; an unreachable host is one errored case."""
    status = {"unreachable": "error"}
    return [junit.Case(r.host, r.name, status.get(r.status, r.status), redact(r.message), r.seconds)  # type: ignore[arg-type]
            for results in by_host.values() for r in results]


def lines(host: str, results: Sequence[CheckResult], verbose: int = 0) -> str:
    """Console text for one host: failures with their reason (every check with -v), then a count line."""
    out = []
    for r in results:
        if r.failed or r.status == "unreachable" or verbose:
            reason = f": {r.message.strip()}" if r.message.strip() else ""
            out.append(f"{host}: {r.status.upper():<11} {r.name}{reason}".replace("\n", "\n    "))
    shown = counts(results, STATUSES[:-1])  # the host line itself says "unreachable"
    out.append(f"{host}: {host_status(results)}  " + " ".join(f"{k}={v}" for k, v in shown.items()))
    return "\n".join(out) + "\n"


class AfterApply:
    """The `executor.Options.after` hook of `configure apply --verify`: verify each host once it converged.

    A host whose checks fail is marked failed (so a rolling run's failure budget sees it);
    `exit_code` then turns the run's 1 into 4 when verification was the only failure.
    """

    def __init__(self, accept_new: bool = False, sudo_password: str | None = None,
                 write: Callable[[str], object] = sys.stdout.write, verbose: int = 0) -> None:
        self.accept_new = accept_new
        self.sudo_password = sudo_password
        self.write = write
        self.verbose = verbose
        self.results: dict[str, list[CheckResult]] = {}
        self._lock = threading.Lock()

    def __call__(self, catalog: Catalog, result: executor.HostResult, session: Session) -> None:
        started = time.monotonic()
        found = verify_host(catalog, self.accept_new, result.outcome.facts, self.sudo_password, session)
        with self._lock:
            self.results[catalog.host.name] = found
        self.write(lines(catalog.host.name, found, self.verbose))
        bad = [r for r in found if r.failed or r.status == "unreachable"]
        if bad:
            result.status = "failed"
            result.error = f"verify: {len(bad)} checks failed (first: {bad[0].name}: {junit.headline(bad[0].message)})"
        result.seconds += time.monotonic() - started

    def exit_code(self, results: Sequence[executor.HostResult], code: int) -> int:
        """4 instead of 1 when every failed host failed only its verification."""
        verify_failed = {h for h, r in self.results.items() if host_status(r) != "passed"}
        others = {r.host for r in results if r.status == "failed"} - verify_failed
        return FAILED if code == 1 and verify_failed and not others else code


def cmd_verify(args: argparse.Namespace) -> int:
    """verify."""
    catalogs = load_checked_catalogs(args)
    redact = args.redactor.redact
    console = report.Console(verbose=args.verbose, redact=redact)
    password = arguments.become_password(args)
    by_host = verify_all(catalogs, args.forks, args.accept_new,
                         lambda host, results: console.write(lines(host, results, args.verbose)), password)
    if args.json:
        report.write_json(args.json, as_json(by_host, redact))
    if args.junit:
        junit.write(args.junit, "configure verify", junit_cases(by_host, redact))
    code = exit_code(by_host)
    ran = [r for results in by_host.values() for r in results if r.kind != "host"]
    unreachable = sum(host_status(r) == "unreachable" for r in by_host.values())
    console.write(f"\nverify: {len(by_host)} hosts ({unreachable} unreachable), {len(ran)} checks, "
                  f"{sum(r.failed for r in ran)} failed; exit {code}\n")
    return code


def add_parser(subparsers: Any, text: str) -> None:
    """Register `configure verify`."""
    p = subparsers.add_parser("verify", help=text)
    arguments.remote(p)
    p.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report here")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report here")
    p.add_argument("--verbose", "-v", action="count", default=0, help="list passing checks too")
    p.set_defaults(func=cmd_verify)
