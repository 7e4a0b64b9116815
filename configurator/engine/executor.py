"""Hosts in parallel: connect → converge (probe, plan, apply) → close; one host never stops another."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from configurator.connections import local, ssh
from configurator.connections.base import Connection
from configurator.engine import converge as apply
from configurator.engine import rollout
from configurator.errors import ConfigureError, Unreachable
from configurator.model.catalog import Catalog
from configurator.model.inventory import Host

DEFAULT_FORKS = 64


@dataclass
class HostResult:
    """The result of one host's run."""

    host: str
    status: str = "ok"  # ok | changed | pending | failed | unreachable | skipped
    outcome: apply.Outcome = field(default_factory=apply.Outcome)
    error: str = ""
    round_trips: int = 0
    seconds: float = 0.0
    nodelay: bool = False


@dataclass(frozen=True)
class Options:
    """How to run: check mode, parallelism, host-key policy, sudo password."""

    check: bool = False
    forks: int = DEFAULT_FORKS
    accept_new: bool = False
    sudo_password: str | None = None
    # e.g. verify, given the host's open session once it was planned or converged; may set the status to "failed"
    after: Callable[[Catalog, HostResult, Connection], None] | None = None
    stop: threading.Event = field(default_factory=threading.Event)  # set on Ctrl-C: start no new work
    # set on a second Ctrl-C: end the running steps' processes on the hosts, release the host locks
    abort: threading.Event = field(default_factory=threading.Event)
    connection: str = ""  # "local": every host on this machine (--connection local); else each host's own


def connect(host: Host, accept_new: bool = False, sudo_password: str | None = None,
            abort: threading.Event | None = None, connection: str = "") -> Connection:
    """The host's connection: a shell on this machine for `connection: local`, else SSH."""
    if (connection or host.connection) == "local":
        return local.connect(host, sudo_password, abort)
    return ssh.connect(host, accept_new, sudo_password, abort)


def run_host(catalog: Catalog, options: Options, event: apply.Event) -> HostResult:
    """Converge (or check) one host; every failure is caught and reported on the result."""
    result = HostResult(catalog.host.name)
    started = time.monotonic()
    session = None
    try:
        session = connect(catalog.host, options.accept_new, options.sudo_password, options.abort,
                          options.connection)
        result.nodelay = session.nodelay
        result.outcome = apply.converge(session, catalog, options.check, event, options.stop)
        result.error = result.outcome.error
        result.status = _status(result, options.check)
        if options.after is not None and result.status in ("ok", "changed", "pending"):
            result.round_trips = session.round_trips  # what the apply cost, before the hook adds its own
            options.after(catalog, result, session)  # on the same connection, still holding the host lock
    except Unreachable as exc:
        result.status, result.error = "unreachable", str(exc)
    except (ConfigureError, apply.Locked) as exc:
        result.status, result.error = "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - a bug or transport fault must fail this host only
        result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        if session is not None:
            result.round_trips = result.round_trips or session.round_trips
            session.close()
        result.seconds = time.monotonic() - started
    return result


def _status(result: HostResult, check: bool) -> str:
    if result.error:
        return "failed"
    if result.outcome.changed or result.outcome.handlers:
        return "pending" if check else "changed"
    if any(s == "unknown" for _, s in result.outcome.steps):
        return "pending"
    return "ok"


def run_all(plan: rollout.Plan, options: Options, event: apply.Event,
            done: Callable[[HostResult], None] = lambda r: None) -> list[HostResult]:
    """Run batch after batch, hosts of a batch in parallel; stop when the failure budget is spent."""
    results: list[HostResult] = []
    failures = 0
    for batch in plan.batches:
        if options.stop.is_set():
            results += [HostResult(c.host.name, "skipped", error="not started: interrupted") for c in batch]
            continue
        if failures > plan.max_fail:
            results += [HostResult(c.host.name, "skipped", error="not started: an earlier batch failed "
                                   f"({failures} failed hosts, max_fail {plan.max_fail})") for c in batch]
            continue
        found = _run_batch(list(batch), options, event, done)
        failures += sum(1 for r in found if r.status in ("failed", "unreachable"))
        results += found
    return results


def _run_batch(catalogs: list[Catalog], options: Options, event: apply.Event,
               done: Callable[[HostResult], None]) -> list[HostResult]:
    def one(catalog: Catalog) -> HostResult:
        result = run_host(catalog, options, event)
        done(result)
        return result

    pool = ThreadPoolExecutor(max_workers=max(1, min(options.forks, len(catalogs))))
    futures = [pool.submit(one, c) for c in catalogs]
    try:
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        # Ctrl-C: hosts finish the step they are in, start nothing new, and still report
        options.stop.set()
        return [f.result() for f in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def exit_code(results: list[HostResult], detailed: bool, check: bool) -> int:
    """The documented exit code: 1 failed, 3 unreachable, 2 pending/changed (when asked), else 0."""
    statuses = {r.status for r in results}
    if statuses & {"failed", "skipped"}:
        return 1
    if "unreachable" in statuses:
        return 3
    if "pending" in statuses and check:
        return 2
    if "changed" in statuses and detailed:
        return 2
    return 0
