"""Running a rollout plan: lanes side by side, each lane's batches in order, every host on one pool of
--forks threads. A batch starts once the batch before it in its lane and every host it waits for
(`after:`) have finished; a lane's failures and failed hooks stop that lane only. A batch with hooks
runs them only when one of its hosts, once planned, has something to change (engine/gate.py)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from configurator.engine import hooks
from configurator.engine.batches import Batch, Lane
from configurator.engine.gate import BatchGate
from configurator.engine.results import HostResult, Results
from configurator.engine.rollout import Plan
from configurator.engine.status import HostStatus
from configurator.model.catalog import Catalog
from configurator.model.rolling import Hook

RunOne = Callable[[Catalog, Batch, BatchGate | None], HostResult]
Done = Callable[[HostResult], None]
POLL = 0.5  # seconds between looks at the batches while none reports (a Ctrl-C is seen between them)


class Schedule:
    """One run of a plan; `run()` returns every host's result in the plan's order."""

    def __init__(self, plan: Plan, run_one: RunOne, forks: int, stop: threading.Event, done: Done,
                 opener: hooks.Opener | None) -> None:
        self.plan, self.run_one, self.stop, self.done, self.opener = plan, run_one, stop, done, opener
        self.catalogs = {c.host.name: c for c in plan.catalogs}
        self.cond = threading.Condition()
        self.results: dict[str, HostResult] = {}
        self.finished: set[str] = set()  # hosts whose batch is over, its after-hooks included
        self.failures: dict[str, int] = {}  # lane -> its failed hosts
        self.halted: dict[str, tuple[str, bool]] = {}  # lane -> why its later batches are not started
        self.hooks: list[hooks.HookRun] = []
        self.forks = self.free = max(1, forks)  # hosts connected at once, and slots left (under cond)

    def run(self) -> Results:
        """Start each lane's next batch when it is ready; return when every batch is over."""
        queues = [deque(lane.batches) for lane in self.plan.lanes]  # per lane: only its head can be ready
        lanes = list(self.plan.lanes)
        running: list[threading.Thread] = []
        with self.cond:
            while any(queues) or any(t.is_alive() for t in running):
                try:
                    self._start_ready(lanes, queues, running)
                    self.cond.wait(POLL)
                except KeyboardInterrupt:  # hosts finish the step they are in and start nothing new
                    self.stop.set()
        return Results([self.results[c.host.name] for c in self.plan.catalogs], self.hooks)

    def _start_ready(self, lanes: list[Lane], queues: list[deque[Batch]], running: list[threading.Thread]) -> None:
        ready = [(lane, queue) for lane, queue in zip(lanes, queues, strict=True)
                 if queue and self._ready(lane, queue[0])]
        if not ready and any(queues) and not any(t.is_alive() for t in running):
            # nothing can end the wait (the planner refuses such plans): start them rather than hang
            ready = [(lane, queue) for lane, queue in zip(lanes, queues, strict=True) if queue]
        for lane, queue in ready:
            thread = threading.Thread(target=self._batch, args=(lane, queue.popleft()), daemon=True)
            thread.start()
            running.append(thread)
        running[:] = [t for t in running if t.is_alive()]

    def _ready(self, lane: Lane, batch: Batch) -> bool:
        """Whether the lane's batch before it and every host it waits for have finished."""
        earlier = lane.batches[batch.index - 2].hosts if batch.index > 1 else ()
        return all(h in self.finished for h in earlier) and all(
            h in self.finished for wait in batch.waits for h in wait.hosts)

    def _batch(self, lane: Lane, batch: Batch) -> None:
        found: list[HostResult] = []
        try:
            found = self._run_batch(lane, batch)
        except Exception as exc:  # noqa: BLE001 - a bug here must not leave the run waiting for ever
            found = [self._skipped(h, batch, f"not started: {type(exc).__name__}: {exc}") for h in batch.hosts]
        finally:
            with self.cond:
                self.results.update({r.host: r for r in found})
                self.finished |= set(batch.hosts)
                self.cond.notify_all()

    def _run_batch(self, lane: Lane, batch: Batch) -> list[HostResult]:
        reason, consequence = self._skip_reason(lane, batch)
        gate = self._gate(lane, batch) if not reason else None
        if not reason and gate is None:  # no hooks, or more hosts than --forks: no gate, hooks up front
            reason = self._before(lane, batch)
        if reason:
            return [self._skipped(h, batch, reason, consequence) for h in batch.hosts]
        found = self._run_hosts(batch, gate)
        self._after(lane, batch, found, gate)
        return found

    def _gate(self, lane: Lane, batch: Batch) -> BatchGate | None:
        """The gate of a batch with hooks whose hosts can all hold a connection at once (else None)."""
        if not (lane.before or lane.after) or self.opener is None or len(batch.hosts) > self.forks:
            return None
        return BatchGate(batch.hosts, lambda needed: self._before(lane, batch) if needed else self._unneeded(
            lane.before, "before", batch, lane))

    def _before(self, lane: Lane, batch: Batch) -> str:
        """Run the batch's before-hooks; why its hosts are not started ('' when the hooks passed)."""
        failed = self._hooks(lane.before, "before", batch, hooks.Names(lane.group, batch.hosts))
        if failed is None:
            return ""
        self._halt(lane, f"not started: an earlier {failed.describe()}")
        return f"not started: the {failed.describe()}"

    def _unneeded(self, items: tuple[Hook, ...], when: str, batch: Batch, lane: Lane) -> str:
        """Record the hooks left out because no host of the batch had anything to change."""
        for hook in items:
            self._record(hooks.not_needed(hook, when, batch.label, lane.group, time.time()))
        return ""

    def _run_hosts(self, batch: Batch, gate: BatchGate | None) -> list[HostResult]:
        """Each host of the batch on its own thread, within --forks; a gated batch takes its slots at once
        (its hosts wait for each other while connected: taken one by one, two batches could wait for ever)."""
        found: list[HostResult] = [HostResult(h, HostStatus.SKIPPED, batch=batch) for h in batch.hosts]
        threads: list[threading.Thread] = []
        if gate is not None:
            self._take(len(batch.hosts))
        for n in range(len(batch.hosts)):
            if gate is None:
                self._take(1)
            thread = threading.Thread(target=self._host, args=(found, n, batch, gate), daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        return found

    def _host(self, found: list[HostResult], n: int, batch: Batch, gate: BatchGate | None) -> None:
        host = batch.hosts[n]
        try:
            found[n] = self.run_one(self.catalogs[host], batch, gate)
        except Exception as exc:  # noqa: BLE001 - run_one reports its own failures; a bug fails this host only
            found[n] = HostResult(host, HostStatus.FAILED, error=f"{type(exc).__name__}: {exc}", batch=batch)
        finally:
            if gate is not None:
                gate.leave(host)
            with self.cond:
                self.free += 1
                self.cond.notify_all()

    def _take(self, count: int) -> None:
        with self.cond:
            while self.free < count:
                self.cond.wait(POLL)
            self.free -= count

    def _skip_reason(self, lane: Lane, batch: Batch) -> tuple[str, bool]:
        """Why the batch is not started ('' when it is), and whether another host's failure is the cause."""
        if self.stop.is_set():
            return "not started: interrupted", False
        with self.cond:
            if lane.group in self.halted:
                return self.halted[lane.group]
            for wait in (w for w in batch.waits if w.success):
                bad = [f"{h} {self.results[h].status}" for h in wait.hosts if not self.results[h].status.reached]
                if bad:  # the lane's later batches wait for the same hosts: they are skipped alike
                    reason = f"not started: it runs after group {wait.group} (after_success), where {', '.join(bad)}"
                    self.halted.setdefault(lane.group, (reason, True))
                    return reason, True
        return "", False

    def _after(self, lane: Lane, batch: Batch, found: list[HostResult], gate: BatchGate | None) -> None:
        """Count the batch's failures against its lane's budget and run its after-hooks (only when its
        before-hooks ran: a gated batch with nothing to change runs none)."""
        bad = tuple(r.host for r in found if r.status.counts_as_failure)
        with self.cond:
            spent = self.failures[lane.group] = self.failures.get(lane.group, 0) + len(bad)
        names = hooks.Names(lane.group, batch.hosts, tuple(r.host for r in found if r.status.reached), bad)
        if gate is not None and not gate.needed:
            self._unneeded(lane.after, "after", batch, lane)
            failed = None
        else:
            failed = self._hooks(lane.after, "after", batch, names) if gate is None or gate.hooks_ran else None
        if failed is not None:
            self._halt(lane, f"not started: an earlier {failed.describe()}")
        if spent > lane.max_fail:
            self._halt(lane, f"not started: an earlier batch of {lane.group} failed "
                             f"({spent} failed hosts, max_fail {lane.max_fail})")

    def _hooks(self, items: tuple[Hook, ...], when: str, batch: Batch, names: hooks.Names) -> hooks.HookRun | None:
        if not items or self.opener is None or self.plan.inventory is None:
            return None
        return hooks.run_all(items, when, batch.label, names, self.plan.inventory, self.opener, self._record)

    def _record(self, run: hooks.HookRun) -> None:
        with self.cond:
            self.hooks.append(run)

    def _halt(self, lane: Lane, reason: str) -> None:
        with self.cond:
            self.halted.setdefault(lane.group, (reason, False))

    def _skipped(self, host: str, batch: Batch, reason: str, consequence: bool = False) -> HostResult:
        result = HostResult(host, HostStatus.SKIPPED, error=reason, batch=batch, consequence=consequence)
        self.done(result)
        return result
