"""Converging one host: probe once, run changed steps in order (consecutive independent ones in one
script), re-probe after a change what it may have affected, then run the notified handlers once at
the end (remembered on the host if the run fails)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from configurator.connections.base import Connection
from configurator.connections.shell import LOCKED
from configurator.connections.streams import Keep, last_lines
from configurator.connections.transfer import Stager
from configurator.engine import chain, hostpaths, probe
from configurator.engine.actions import Action, Run, Upload, changed_nothing, quote, snippet
from configurator.engine.plan import Planned, applies, decide_all
from configurator.engine.status import StepStatus
from configurator.errors import HostFailed
from configurator.model.catalog import Catalog, Entry
from configurator.resources.touch import Touch, overlaps

Event = Callable[[str, Planned, StepStatus], None]  # (host, planned step, outcome)
# before any change: (catalog, the steps planned now, the handlers they would run); raises HostFailed to
# refuse the host (a saved plan whose host no longer looks as it did when the plan was made)
Gate = Callable[[Catalog, list[Planned], list[str]], None]
# a step's output is only quoted in errors: its first 64 KiB and last 256 KiB are plenty
STEP_OUTPUT = Keep(whole=320 * 1024)
WHOLE = STEP_OUTPUT.whole  # a line is never longer than the output kept
RETRY = 2.0  # seconds between attempts to reach a host that reboots


class Locked(Exception):
    """Another run holds this host's lock."""


@dataclass
class Outcome:
    """What happened on one host: every step with its final status, and any failure."""

    facts: dict[str, str] = field(default_factory=dict)
    steps: list[tuple[Planned, StepStatus]] = field(default_factory=list)  # (planned, its final status)
    handlers: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def changed(self) -> int:
        return sum(1 for _, status in self.steps if status in (StepStatus.CHANGED, StepStatus.PENDING))


def observe(session: Connection, entries: list[Entry], first: bool, check: bool, batch: bool = True,
            facts: probe.Facts = probe.Facts.ALL) -> probe.Observed:
    """One round trip: (`facts` and pending handlers, on the `first`) the probes of `entries`."""
    token = secrets.token_hex(6)
    lock = ("s" if check else "x") if first else ""
    script = probe.script([e.resource for e in entries], token, facts if first else probe.Facts.NONE, batch)
    result = session.run(script, lock=lock)
    if result.status == LOCKED:
        raise Locked("another configurator run holds the lock on this host "
                     f"({hostpaths.STATE_DIR}/lock); try again when it has finished")
    if result.status == hostpaths.UNSAFE_STATE:
        raise HostFailed(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else
                         f"{hostpaths.STATE_DIR} is not a directory of root's with mode 0700")
    return probe.parse(result.stdout, token, [e.resource for e in entries], batch)


def converge(session: Connection, catalog: Catalog, check: bool, event: Event,
             stop: threading.Event | None = None, gate: Gate | None = None) -> Outcome:
    """Bring one host to its catalog (or, with `check`, only say what would change); `gate` may refuse
    the host once it is planned, before anything changes."""
    outcome = Outcome()
    seen = observe(session, list(catalog.entries), first=True, check=check, facts=facts_wanted(catalog))
    outcome.facts = seen.facts
    live = [(e, s) for e, s in zip(catalog.entries, seen.states, strict=True)
            if applies(e, seen.facts, catalog.context)]
    planned = with_details(session, decide_all([e for e, _ in live], tuple(s for _, s in live)))
    queued = [h for h in seen.pending if h in catalog.handlers]
    # what check mode shows and a saved plan holds: later steps as the changes before them leave the host
    foreseen = chain.foresee(planned) if check or gate is not None else planned
    if gate is not None:
        gate(catalog, foreseen, _queued(catalog, queued, foreseen))
    if check:
        for item in foreseen:
            status = StepStatus.PENDING if item.step.status == "change" else StepStatus(item.step.status)
            _record(outcome, catalog, item, status, event)
        outcome.handlers = [f"{h} (would run)" for h in _queued(catalog, queued, foreseen)]
        return outcome
    _apply_steps(session, catalog, planned, queued, outcome, event, stop or threading.Event())
    if not outcome.error:
        _run_handlers(session, catalog, queued, outcome, event)
    return outcome


def facts_wanted(catalog: Catalog) -> probe.Facts:
    """All facts when a `when` of the catalog names them, else only those that cost the host no process."""
    return probe.Facts.ALL if any(e.when is not None for e in catalog.entries) else probe.Facts.FREE


def with_details(session: Connection, planned: list[Planned]) -> list[Planned]:
    """Re-probe, one by one and in one round trip, the changes a batched probe could not describe
    (the old content of a changed file, for its diff); a converged host never pays for it."""
    wanted = [n for n, p in enumerate(planned) if p.step.needs_detail]
    if not wanted:
        return planned
    entries = [planned[n].entry for n in wanted]
    seen = observe(session, entries, first=False, check=True, batch=False)
    detailed = list(planned)
    for n, item in zip(wanted, decide_all(entries, seen.states), strict=True):
        detailed[n] = item
    return detailed


def _queued(catalog: Catalog, queued: list[str], planned: list[Planned]) -> list[str]:
    names = set(queued)
    for item in planned:
        if item.step.status == "change":
            names |= set(item.entry.notify)
    return [h for h in catalog.handlers if h in names]


def _record(outcome: Outcome, catalog: Catalog, item: Planned, status: StepStatus, event: Event) -> None:
    item = replace(item, observed=None)  # the state it was planned on (a whole text file) is not kept
    outcome.steps.append((item, status))
    event(catalog.host.name, item, status)


def _apply_steps(session: Connection, catalog: Catalog, planned: list[Planned], queued: list[str],
                 outcome: Outcome, event: Event, stop: threading.Event) -> None:
    stager = Stager(session)
    try:
        _apply_each(session, stager, catalog, planned, queued, outcome, event, stop)
    finally:
        stager.close()


def _apply_each(session: Connection, stager: Stager, catalog: Catalog, planned: list[Planned], queued: list[str],
                outcome: Outcome, event: Event, stop: threading.Event) -> None:
    index = 0
    while index < len(planned):
        item = planned[index]
        if item.step.status == "ok":
            _record(outcome, catalog, item, StepStatus.OK, event)
            index += 1
            continue
        if item.step.status == "unknown":
            outcome.error = f"{item.id}: {item.step.summary}"
            _fail_rest(outcome, catalog, planned[index:], event)
            return
        if stop.is_set():
            outcome.error = "interrupted: no further changes started on this host"
            _fail_rest(outcome, catalog, planned[index:], event, failed=0)
            return
        run = chain.gather(planned, index)
        planned[index:index + len(run.items)] = run.items
        if not _run_chain(session, stager, catalog, planned[index:], run, queued, outcome, event):
            return
        index += len(run.items)
        _after_restart(session, [g.entry for group in run.groups for g in group], outcome)
        planned[index:] = _reprobe(session, planned[index:], run.writes)


def _run_chain(session: Connection, stager: Stager, catalog: Catalog, rest: list[Planned], run: chain.Chain,
               queued: list[str], outcome: Outcome, event: Event) -> bool:
    """Run a chain's changes in one script and record each of its steps; False when one failed
    (it and the steps after it, to the end of `rest`, are then recorded failed and skipped)."""
    token = secrets.token_hex(6)
    steps = [stager.staged(_merged(group)) for group in run.groups]
    notify = [[n for g in group for n in g.entry.notify] for group in run.groups]
    timeout = sum(_timeout(actions) for actions in steps)
    result = session.run(chain.script(steps, notify, token), timeout=timeout, keep=STEP_OUTPUT)
    done = len(steps) if result.status == 0 else chain.failed_step(result.stdout, token)
    queued += [n for names in notify[:done] for n in names if n not in queued]
    ran = {id(g) for group in run.groups[:done] for g in group}
    stopped_at = len(run.items) if result.status == 0 else run.items.index(run.groups[done][0])
    for item in run.items[:stopped_at]:
        _record(outcome, catalog, item, StepStatus.CHANGED if id(item) in ran else StepStatus.OK, event)
    if result.status == 0:
        return True
    if changed_nothing(steps[done], result.status):  # a refused write: its handlers have nothing to act on
        session.run(_pending(queued), timeout=60.0)
    failure = _failure(chain.output_of(result.stdout, token, done), chain.output_of(result.stderr, token, done),
                       result.status)
    outcome.error = f"{run.groups[done][0].id}: {failure}"
    _fail_rest(outcome, catalog, rest[stopped_at:], event, failed=len(run.groups[done]))
    return False


_batch = chain.batch
_merged = chain.merged


def _reprobe(session: Connection, rest: list[Planned], written: frozenset[Touch]) -> list[Planned]:
    """Decide again, on fresh state (one round trip), the remaining steps whose reads meet what was
    just written; the others keep their plans."""
    stale = [n for n, item in enumerate(rest) if overlaps(chain.reads(item), written)]
    if not stale:
        return rest
    entries = [rest[n].entry for n in stale]
    seen = observe(session, entries, first=False, check=False)
    fresh = list(rest)
    for n, item in zip(stale, decide_all(entries, seen.states), strict=True):
        fresh[n] = item
    return fresh


def _fail_rest(outcome: Outcome, catalog: Catalog, rest: list[Planned], event: Event, failed: int = 1) -> None:
    for n, item in enumerate(rest):
        _record(outcome, catalog, item, StepStatus.FAILED if n < failed else StepStatus.SKIPPED, event)


def step_script(actions: list[Action], notify: list[str]) -> str:
    """Sh for one step: remember its handlers first (so a failure cannot lose them), then act."""
    token = secrets.token_hex(6)
    lines = [f"[ -d {hostpaths.STATE} ] || mkdir -m 0700 {hostpaths.STATE}"]  # a builtin test: no process per step
    if any(isinstance(a, Upload) or a.at is not None for a in actions):
        lines.append(hostpaths.ACTOR.strip())
    lines += [f"printf '%s\\n' {quote(n)} >> {probe.PENDING}" for n in notify]
    for action in actions:
        lines.append(f"( {snippet(action, token)}) || exit $?")
    return "\n".join(lines) + "\n"


def _pending(names: list[str]) -> str:
    """Sh that leaves exactly `names` pending on the host, in this order."""
    keep = "".join(f"{n}\n" for n in names)
    return f"printf %s {quote(keep)} > {probe.PENDING}\n"


def _timeout(actions: list[Action]) -> float:
    return 60.0 + sum(float(a.timeout if isinstance(a, Run) else 300) for a in actions)


def _failure(stdout: str, stderr: str, status: int) -> str:
    """The exit status and the last lines of stderr (else stdout), whole: the reporters clip them after
    redacting secrets (a cut first could leave part of a secret unmasked); the output kept is bounded."""
    text = last_lines(stderr, 6, WHOLE) or last_lines(stdout, 6, WHOLE)
    return f"exit {status}: " + (" | ".join(text) if text else "no output")


def _run_handlers(session: Connection, catalog: Catalog, queued: list[str], outcome: Outcome,
                  event: Event) -> None:
    """Run each queued handler once, in declaration order, then forget them on the host."""
    names = [h for h in catalog.handlers if h in queued]
    if not names:
        return
    entries = [catalog.handlers[n] for n in names]
    seen = observe(session, entries, first=False, check=False)
    stager = Stager(session)
    try:
        _run_each_handler(session, stager, catalog, names, decide_all(entries, seen.states), outcome, event)
    finally:
        stager.close()


def _run_each_handler(session: Connection, stager: Stager, catalog: Catalog, names: list[str],
                      planned: list[Planned], outcome: Outcome, event: Event) -> None:
    for name, item in zip(names, planned, strict=True):
        actions = stager.staged(list(item.step.actions))
        rest = [n for n in names if n != name and n not in outcome.handlers]
        script = step_script(actions, []) + _pending(rest)
        result = session.run(script, timeout=_timeout(actions), keep=STEP_OUTPUT)
        handler = replace(item, step=replace(item.step, summary=f"handler {name}: {item.step.summary}"))
        if result.status != 0:
            outcome.error = f"handler {name!r}: {_failure(result.stdout, result.stderr, result.status)}"
            _record(outcome, catalog, handler, StepStatus.FAILED, event)
            return
        outcome.handlers.append(name)
        event(catalog.host.name, handler, StepStatus.HANDLER)
        _after_restart(session, [item.entry], outcome)


def _after_restart(session: Connection, done: list[Entry], outcome: Outcome) -> None:
    """When a change just made restarts the host (a reboot), wait for it to come back and reconnect."""
    wait = max(e.resource.restarts_host() for e in done)
    if wait > 0:
        outcome.facts = come_back(session, outcome.facts.get("boot", ""), wait)


def come_back(session: Connection, before: str, wait: float) -> dict[str, str]:
    """Reconnect once the host answers from another boot than `before`, at most `wait` seconds from now;
    its lock is taken again; its facts are returned."""
    deadline, last = time.monotonic() + wait, "no answer"
    while time.monotonic() < deadline:
        time.sleep(RETRY)
        if session.abort is not None and session.abort.is_set():
            raise HostFailed("interrupted while waiting for the host to come back from its reboot")
        try:
            session.reopen()
            seen = observe(session, [], first=True, check=False)
        except Exception as exc:  # noqa: BLE001 - whatever fails while it restarts means: not back yet
            last = str(exc) or type(exc).__name__
            continue
        if seen.facts.get("boot", "") != before:
            return seen.facts
        last = "it still ran the boot it had before the reboot"
    raise HostFailed(f"the host did not come back from its reboot within {wait:.0f} s ({last})")


__all__ = ["Locked", "Outcome", "come_back", "converge", "observe", "step_script", "with_details"]
