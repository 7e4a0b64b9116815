"""Hosts in parallel: connect → converge (probe, plan, apply) → close; one host never stops another."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from configurator.connections import ssh
from configurator.connections.base import Connection
from configurator.engine import converge as apply
from configurator.engine import hooks as hook_runs
from configurator.engine import rollout
from configurator.engine.batches import Batch
from configurator.engine.gate import BatchGate, NotStarted
from configurator.engine.plan import Planned
from configurator.engine.results import HostResult as HostResult  # where callers have always found it
from configurator.engine.results import Results
from configurator.engine.schedule import Schedule
from configurator.engine.status import HostStatus, StepStatus
from configurator.errors import ConfigureError, Unreachable
from configurator.model.catalog import Catalog
from configurator.model.inventory import Host

DEFAULT_FORKS = 64


# (session, catalog, check, event, stop, the batch's gate between plan and changes, if any)
Work = Callable[[Connection, Catalog, bool, apply.Event, threading.Event, apply.Gate | None], apply.Outcome]
After = Callable[[Catalog, HostResult, Connection], None]


def facts_only(session: Connection, catalog: Catalog, check: bool, event: apply.Event,
               stop: threading.Event, gate: apply.Gate | None = None) -> apply.Outcome:
    """The work of a run that only looks (verify): the host's shared lock and its facts, nothing planned."""
    seen = apply.observe(session, [], first=True, check=True, facts=apply.facts_wanted(catalog))
    return apply.Outcome(facts=seen.facts)


@dataclass(frozen=True)
class RunOptions:
    """How to run: check mode, parallelism, host-key policy, sudo password, the work and its hook."""

    check: bool = False
    forks: int = DEFAULT_FORKS
    accept_new: bool = False
    sudo_password: str | None = None
    # e.g. verify, given the host's open session once it was planned or converged; may set the status to failed
    after: After | None = None
    work: Work = apply.converge  # what is done on each connected host: converge (or check), or facts_only
    stop: threading.Event = field(default_factory=threading.Event)  # set on Ctrl-C: start no new work
    # set on a second Ctrl-C: end the running steps' processes on the hosts, release the host locks
    abort: threading.Event = field(default_factory=threading.Event)
    connection: str = ""  # "local": every host on this machine (--connection local); else each host's own
    wait: float = 0.0  # seconds to wait for a host still coming up (--wait): connects retried, then cloud-init


def connect(host: Host, accept_new: bool = False, sudo_password: str | None = None,
            abort: threading.Event | None = None, connection: str = "", wait: float = 0.0) -> Connection:
    """The host's connection: a shell on this machine for `connection: local`, else SSH."""
    if (connection or host.connection) == "local":
        from configurator.connections import local  # only runs that ask for it pay for its import

        return local.connect(host, sudo_password, abort)
    return ssh.connect(host, accept_new, sudo_password, abort, wait)


def run_host(catalog: Catalog, options: RunOptions, event: apply.Event, gate: apply.Gate | None = None) -> HostResult:
    """Converge (or check) one host, through `gate` between its plan and its changes; every failure is
    caught and reported on the result."""
    result = HostResult(catalog.host.name, started=time.time())
    started = time.monotonic()
    session = None
    try:
        session = connect(catalog.host, options.accept_new, options.sudo_password, options.abort,
                          options.connection, options.wait)
        result.nodelay = session.nodelay
        result.outcome = options.work(session, catalog, options.check, event, options.stop, gate)
        result.error = result.outcome.error
        result.status = _status(result, options.check)
        if options.after is not None and result.status.reached:
            result.round_trips = session.round_trips  # what the apply cost, before the hook adds its own
            options.after(catalog, result, session)  # on the same connection, still holding the host lock
    except Unreachable as exc:
        result.status, result.error = HostStatus.UNREACHABLE, str(exc)
    except NotStarted as exc:  # planned, but its batch's before-hook failed: nothing was changed on it
        result.status, result.error = HostStatus.SKIPPED, str(exc)
    except (ConfigureError, apply.Locked) as exc:
        result.status, result.error = HostStatus.FAILED, str(exc)
    except Exception as exc:  # noqa: BLE001 - a bug or transport fault must fail this host only
        result.status, result.error = HostStatus.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        if session is not None:
            result.round_trips = result.round_trips or session.round_trips
            session.close()
        result.seconds = time.monotonic() - started
        result.ended = time.time()
    return result


def _status(result: HostResult, check: bool) -> HostStatus:
    if result.error:
        return HostStatus.FAILED
    if result.outcome.changed or result.outcome.handlers:
        return HostStatus.PENDING if check else HostStatus.CHANGED
    if any(s == StepStatus.UNKNOWN for _, s in result.outcome.steps):
        return HostStatus.PENDING
    return HostStatus.OK


def at_once(catalogs: Sequence[Catalog]) -> rollout.Plan:
    """Every host in one batch: for runs that write nothing (verify, drift), where rolling has no point."""
    return rollout.at_once(catalogs)


def unseen(host: str, item: Planned, status: StepStatus) -> None:
    """The step event of a run that shows no steps as they happen."""


def run_all(plan: rollout.Plan, options: RunOptions, event: apply.Event,
            done: Callable[[HostResult], None] = lambda r: None) -> Results:
    """Run the plan's lanes side by side, each lane's batches in order, at most --forks hosts at once;
    a lane stops when its failure budget is spent or one of its batch hooks failed."""
    def one(catalog: Catalog, batch: Batch, gate: BatchGate | None) -> HostResult:
        result = run_host(catalog, options, event, gate.planned if gate is not None else None)
        result.batch = batch
        done(result)
        return result

    def opener(host: Host) -> Connection:
        kind = "local" if host == hook_runs.local_host() else options.connection  # `local` even with --connection ssh
        return connect(host, options.accept_new, options.sudo_password, options.abort, kind)

    hooks = None if options.check else opener  # check mode changes nothing: no batch hook runs
    return Schedule(plan, one, options.forks, options.stop, done, hooks).run()


def hooks_failed(results: Sequence[HostResult]) -> bool:
    """Whether a batch hook of the run failed (a plain list of results ran none)."""
    return isinstance(results, Results) and results.hooks_failed


Options = RunOptions  # the name callers used before the typed options of verify and drift
