"""The schedule without hosts: hosts' work is a fake, batch hooks run over the local connection."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from configurator.connections import local
from configurator.engine import exitcodes
from configurator.engine.gate import BatchGate
from configurator.engine.hooks import HookRun
from configurator.engine.results import HostResult
from configurator.engine.rollout import Plan, lanes_of
from configurator.engine.schedule import Schedule
from configurator.engine.status import HostStatus
from configurator.model import inventory

HOSTS = "hosts:\n" + "".join(f"  {n}: {{connection: local}}\n" for n in ("dns", "a1", "a2", "a3", "w1", "w2"))


class Fake:
    """Each host's work: a pause (its plan), its batch's gate if any, then the status asked for; records
    when each host ran and when it passed the gate."""

    def __init__(self, statuses: dict[str, str] | None = None, pause: float = 0.05) -> None:
        self.statuses, self.pause = statuses or {}, pause
        self.ran: dict[str, tuple[float, float]] = {}
        self.passed: dict[str, float] = {}  # host -> when it went past its batch's gate
        self.lock = threading.Lock()

    def __call__(self, catalog: Any, batch: Any, gate: BatchGate | None = None) -> HostResult:
        started = time.monotonic()
        time.sleep(self.pause)
        name = catalog.host.name
        status = HostStatus(self.statuses.get(name, "changed"))
        if gate is not None and status != HostStatus.UNREACHABLE:  # failed: a change it planned failed
            gate.arrive(name, status != HostStatus.OK)
            if gate.refusal:
                return HostResult(name, HostStatus.SKIPPED, error=gate.refusal, batch=batch)
            self.passed[name] = time.time()  # as the hooks' times: seconds since the epoch
        with self.lock:
            self.ran[name] = (started, time.monotonic())
        return HostResult(name, status, batch=batch)


def run(tmp_path: Path, groups: str, fake: Fake, hooks: bool = False,
        forks: int = 8) -> tuple[dict[str, HostResult], list[HookRun]]:
    path = tmp_path / "inventory.yml"
    path.write_text(HOSTS + "groups:\n" + groups)
    inv = inventory.load(path)
    hosts = list(inv.hosts.values())
    plan = Plan(tuple(SimpleNamespace(host=h) for h in hosts), lanes_of(hosts, inv), inv)  # type: ignore[arg-type]
    opener = (lambda host: local.connect(host)) if hooks else None
    results = Schedule(plan, fake, forks, threading.Event(), lambda r: None, opener).run()
    return {r.host: r for r in results}, results.hooks


def statuses(found: dict[str, HostResult]) -> dict[str, str]:
    return {name: str(r.status) for name, r in found.items()}


def test_a_failure_in_one_group_never_spends_another_groups_budget(tmp_path):
    found, _ = run(tmp_path, "  infra: {hosts: [dns]}\n  apps: {hosts: [a1, a2, a3], serial: 1, max_fail: 0}\n",
                Fake({"dns": "unreachable"}))
    assert statuses(found) == {"dns": "unreachable", "a1": "changed", "a2": "changed", "a3": "changed",
                               "w1": "changed", "w2": "changed"}
    assert exitcodes.apply(list(found.values())) == exitcodes.UNREACHABLE


def test_a_spent_budget_stops_only_its_own_group(tmp_path):
    groups = "  apps: {hosts: [a1, a2, a3], serial: 1, max_fail: '40%'}\n  web: {hosts: [w1, w2], serial: 1}\n"
    found, _ = run(tmp_path, groups, Fake({"a1": "failed", "a2": "failed"}))
    assert statuses(found)["a3"] == "skipped" and "(2 failed hosts, max_fail 1)" in found["a3"].error
    assert [found[n].status for n in ("w1", "w2", "dns")] == ["changed"] * 3


def test_serial_groups_and_free_hosts_run_side_by_side(tmp_path):
    fake = Fake(pause=0.3)
    run(tmp_path, "  apps: {hosts: [a1, a2], serial: 1}\n  web: {hosts: [w1, w2], serial: 1}\n", fake)
    ran = fake.ran
    assert ran["a1"][1] <= ran["a2"][0] and ran["w1"][1] <= ran["w2"][0]  # each group in order
    assert ran["w1"][0] < ran["a1"][1] and ran["dns"][0] < ran["a1"][1]  # but not after one another


def test_after_success_skips_the_group_and_the_cause_decides_the_exit_code(tmp_path):
    groups = "  infra: {hosts: [dns]}\n  apps: {hosts: [a1, a2], serial: 1, after: [infra], after_success: true}\n"
    found, _ = run(tmp_path, groups, Fake({"dns": "unreachable"}))
    assert [found[n].status for n in ("a1", "a2")] == ["skipped", "skipped"]
    assert all(found[n].consequence and "where dns unreachable" in found[n].error for n in ("a1", "a2"))
    assert exitcodes.apply(list(found.values())) == exitcodes.UNREACHABLE
    found, _ = run(tmp_path, groups.replace("after_success: true", "max_fail: 0"), Fake({"dns": "failed"}, pause=0.2))
    assert found["a1"].status == "changed"  # without after_success the group only waits


def test_an_after_hook_that_fails_stops_the_groups_later_batches(tmp_path):
    groups = ("  apps:\n    hosts: [a1, a2]\n    serial: 1\n    batch_hooks:\n"
              "      before: [{on: local, run: \"echo before {{ batch | join(',') }}\"}]\n"
              "      after: [{on: local, run: \"echo after {{ succeeded | join(',') }}/{{ failed | join(',') }}; "
              "exit 4\"}]\n")
    found, hooks = run(tmp_path, groups, Fake({"a1": "failed"}), hooks=True)
    assert found["a2"].status == "skipped" and "apps 1/2 after-hook on local: failed (exit 4" in found["a2"].error
    assert [(h.when, h.output, h.exit_status) for h in hooks] == [("before", "before a1", 0), ("after", "after /a1", 4)]
    assert all(h.started <= h.ended for h in hooks)


def test_a_hook_that_times_out_fails_and_skips_its_batch(tmp_path):
    groups = ("  apps:\n    hosts: [a1]\n    batch_hooks:\n"
              "      before: [{on: local, run: \"sleep 30\", timeout: 0.5}]\n")
    started = time.monotonic()
    found, hooks = run(tmp_path, groups, Fake(), hooks=True)
    assert time.monotonic() - started < 10
    assert found["a1"].status == "skipped"
    assert [h.status for h in hooks] == ["timeout"]


def test_a_hook_on_an_unreachable_host_fails_with_the_reason(tmp_path):
    from configurator.engine import hooks
    from configurator.errors import Unreachable
    from configurator.model.rolling import Hook

    def refused(host: Any) -> Any:
        raise Unreachable(f"connect to {host.address}:22 failed: Connection refused")

    path = tmp_path / "inventory.yml"
    path.write_text("hosts:\n  lb1: {address: 198.18.0.250}\n")
    inv = inventory.load(path)
    outcome = hooks.run(Hook("lb1", "drain a1"), "before", "apps 1/2", hooks.Names("apps", ("a1",)), inv, refused)
    assert (outcome.status, outcome.exit_status, outcome.ok) == ("unreachable", None, False)
    assert outcome.output == "connect to 198.18.0.250:22 failed: Connection refused"


LOGGED = ("    batch_hooks:\n      before: [{on: local, run: \"echo before {{ batch | join(',') }} >> %s\"}]\n"
          "      after: [{on: local, run: \"echo after {{ succeeded | join(',') }} >> %s\"}]\n")


def test_a_batch_with_nothing_to_change_runs_no_hook_and_says_so(tmp_path):
    log = tmp_path / "hooks.log"
    groups = "  apps:\n    hosts: [a1, a2]\n    serial: 2\n" + LOGGED % (log, log)
    found, hooks = run(tmp_path, groups, Fake({"a1": "ok", "a2": "ok"}), hooks=True)
    assert not log.exists()
    assert [(h.when, h.status, h.ok) for h in hooks] == [("before", "not needed", True), ("after", "not needed", True)]
    assert "apps 1/1 before-hook on local: not needed" in hooks[0].describe()
    assert [found[n].status for n in ("a1", "a2")] == ["ok", "ok"]


def test_hooks_run_once_for_the_batch_with_a_change_only_and_before_its_hosts_go_on(tmp_path):
    log = tmp_path / "hooks.log"
    groups = "  apps:\n    hosts: [a1, a2, a3]\n    serial: 2\n" + LOGGED % (log, log)
    fake = Fake({"a1": "ok", "a3": "ok"})
    found, hooks = run(tmp_path, groups, fake, hooks=True)
    assert log.read_text().splitlines() == ["before a1,a2", "after a1,a2"]
    assert [(h.batch, h.when, h.status) for h in hooks] == [
        ("apps 1/2", "before", "ok"), ("apps 1/2", "after", "ok"),
        ("apps 2/2", "before", "not needed"), ("apps 2/2", "after", "not needed")]
    assert hooks[0].ended <= min(fake.passed["a1"], fake.passed["a2"])  # the hosts changed after the drain
    assert found["a2"].status == "changed"


def test_a_failed_before_hook_skips_the_planned_hosts_and_runs_no_after_hook(tmp_path):
    groups = ("  apps:\n    hosts: [a1, a2]\n    serial: 1\n    batch_hooks:\n"
              "      before: [{on: local, run: \"exit 5\"}]\n      after: [{on: local, run: \"echo after\"}]\n")
    found, hooks = run(tmp_path, groups, Fake(), hooks=True)
    assert [found[n].status for n in ("a1", "a2")] == ["skipped", "skipped"]
    assert "before-hook on local: failed (exit 5" in found["a1"].error
    assert [(h.when, h.status) for h in hooks] == [("before", "failed")]


def test_gated_batches_of_two_groups_never_wait_for_each_other_within_forks(tmp_path):
    log = tmp_path / "hooks.log"
    groups = ("  apps:\n    hosts: [a1, a2]\n    serial: 2\n" + LOGGED % (log, log)
              + "  web:\n    hosts: [w1, w2]\n    serial: 2\n" + LOGGED % (log, log))
    started = time.monotonic()
    found, hooks = run(tmp_path, groups, Fake(pause=0.2), hooks=True, forks=2)
    assert time.monotonic() - started < 20
    assert all(found[n].status == "changed" for n in ("a1", "a2", "w1", "w2"))
    assert sorted(log.read_text().splitlines()) == ["after a1,a2", "after w1,w2", "before a1,a2", "before w1,w2"]
