"""Verify: testinfra checks generated from each host's resources, plus its roles' own tests.

Verification is a hook of the one run (`engine.executor`): `apply --verify` and `drift` run it on
the connection that planned or converged the host; `configure verify` runs it after only reading
the facts (`executor.facts_only`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from configurator.checks.results import CheckResult, host_status, run_check
from configurator.connections.base import Connection as Session
from configurator.engine import executor
from configurator.engine.plan import applies
from configurator.engine.status import CheckStatus, HostStatus
from configurator.errors import ConfigureError, Unreachable
from configurator.model.catalog import Catalog
from configurator.output.junit import headline

if TYPE_CHECKING:  # testinfra and pytest load only when something is verified (apply stays fast to start)
    from configurator.checks import role_tests
    from configurator.checks.connection import Connection

__all__ = ["CheckResult", "Verifier", "verify_all", "verify_host"]

Show = Callable[[str, list[CheckResult]], None]  # (host, its results): e.g. print them as they come


def _quiet(host: str, results: list[CheckResult]) -> None:
    """Show nothing."""


def role_vars(catalog: Catalog) -> dict[str, Any]:
    """What a role test sees as `role_vars`: the merged variables and the names templates see."""
    return dict(catalog.context)


def load_role_tests(catalog: Catalog) -> list[role_tests.RoleTest]:
    """Every role test of the host's roles (a test that does not load is bad input, found before connecting)."""
    from configurator.checks import role_tests

    return [t for role in catalog.roles for t in role_tests.discover(role.name, role.path)]


def verify_host(catalog: Catalog, session: Session, facts: dict[str, str],
                sudo_password: str | None = None) -> list[CheckResult]:
    """Run every generated check and role test of one host on its open connection (which holds the
    host's lock; `facts` were read on it); never raises for host problems."""
    try:
        tests = load_role_tests(catalog)
        from configurator.checks.connection import Connection

        conn = Connection(catalog.host, session, sudo_password)
        return _resource_checks(catalog, conn, facts) + _role_checks(catalog, conn, tests)
    except Unreachable as exc:
        return [host_check(catalog.host.name, CheckStatus.UNREACHABLE, str(exc))]
    except ConfigureError as exc:
        return [host_check(catalog.host.name, CheckStatus.ERROR, str(exc))]
    except Exception as exc:  # noqa: BLE001 - one broken host never stops the others
        return [host_check(catalog.host.name, CheckStatus.ERROR, f"{type(exc).__name__}: {exc}")]


def host_check(host: str, status: CheckStatus, message: str) -> CheckResult:
    """The one result of a host whose checks could not run (unreachable, or an error before the checks)."""
    return CheckResult(host, "connect", "host", "host", status=status, message=message)


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
            results.append(CheckResult(status=CheckStatus.SKIPPED, message=reason, **what))
            continue
        results.append(run_check(partial(test.call, fixtures), **what))
    return results


class Verifier:
    """The run's `after` hook: verify each host on its own open connection once it was planned or converged.

    With `fail_host` (apply --verify) a host whose checks fail is marked failed, so a rolling run's
    failure budget sees it; `failed_hosts` then lets the exit code say 4 instead of 1.
    """

    def __init__(self, sudo_password: str | None = None, show: Show = _quiet, fail_host: bool = True) -> None:
        self.sudo_password = sudo_password
        self.show = show
        self.fail_host = fail_host
        self.results: dict[str, list[CheckResult]] = {}
        self._lock = threading.Lock()

    def __call__(self, catalog: Catalog, result: executor.HostResult, session: Session) -> None:
        found = verify_host(catalog, session, result.outcome.facts, self.sudo_password)
        with self._lock:
            self.results[catalog.host.name] = found
        self.show(catalog.host.name, found)
        bad = [r for r in found if r.failed or r.status == CheckStatus.UNREACHABLE]
        if bad and self.fail_host:
            result.status = HostStatus.FAILED
            result.error = f"verify: {len(bad)} checks failed (first: {bad[0].name}: {headline(bad[0].message)})"

    def failed_hosts(self) -> set[str]:
        """The hosts whose verification did not pass."""
        return {h for h, r in self.results.items() if host_status(r) != CheckStatus.PASSED}


def verify_all(catalogs: Sequence[Catalog], options: executor.RunOptions,
               show: Show = _quiet) -> dict[str, list[CheckResult]]:
    """Verify hosts in parallel: the run reads each host's facts, the hook checks it; host name ->
    its results, in inventory order."""
    hook = Verifier(options.sudo_password, fail_host=False)
    found: dict[str, list[CheckResult]] = {}

    def done(result: executor.HostResult) -> None:
        verified = result.host in hook.results
        found[result.host] = hook.results[result.host] if verified else [not_verified(result)]
        show(result.host, found[result.host])

    executor.run_all(executor.at_once(catalogs), replace(options, check=True, work=executor.facts_only, after=hook),
                     executor.unseen, done)
    return {c.host.name: found[c.host.name] for c in catalogs}


def not_verified(result: executor.HostResult) -> CheckResult:
    """The check result of a host the run could not verify (unreachable, locked, failed)."""
    status = CheckStatus.UNREACHABLE if result.status == HostStatus.UNREACHABLE else CheckStatus.ERROR
    return host_check(result.host, status, result.error)
