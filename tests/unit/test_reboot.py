"""Reboot: the file that asks for one in, the scheduled reboot out; the engine's wait for another boot."""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from configurator.connections.base import Result
from configurator.engine import converge
from configurator.engine.probe import FACTS
from configurator.errors import HostFailed, Unreachable
from configurator.resources.base import decide
from configurator.resources.reboot import REBOOT, Reboot


@pytest.mark.parametrize(("reboot", "text", "actions", "summary"), [
    (Reboot("/run/reboot-required"), "asked=1\n", (REBOOT,), "reboot (/run/reboot-required exists)"),
    (Reboot("/run/reboot-required"), "asked=0\n", (), "/run/reboot-required does not exist"),
    (Reboot(), "asked=1\n", (REBOOT,), "reboot"),
])
def test_plan(reboot: Reboot, text: str, actions: tuple[Any, ...], summary: str) -> None:
    step = decide(reboot, text)
    assert (step.actions, step.summary) == (actions, summary)


def test_the_reboot_starts_after_the_step_returned() -> None:
    assert REBOOT.argv[:3] == ("systemd-run", "--quiet", "--on-active=2")
    assert REBOOT.argv[-2:] == ("systemctl", "reboot")


def test_the_engine_waits_as_long_as_the_resource_says() -> None:
    assert Reboot(timeout=120).restarts_host() == 120.0
    assert Reboot().checks() == [] and len(Reboot("/run/reboot-required").checks()) == 1


def test_probe_runs_here(tmp_path: Path) -> None:
    asked = tmp_path / "reboot-required"
    reboot = Reboot(str(asked))
    run = lambda: subprocess.run(["sh", "-c", reboot.probe()], capture_output=True, text=True).stdout  # noqa: E731
    assert reboot.parse(run()).asked is False
    asked.touch()
    assert reboot.parse(run()).asked is True


@pytest.mark.parametrize("text", ["", "asked=yes\n"])
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises((ValueError, KeyError)):
        Reboot().parse(text)


@pytest.mark.parametrize(("args", "problem"), [
    ({"if_exists": "run/x"}, "absolute"), ({"timeout": 5}, "between"), ({"timeout": 7200}, "between")])
def test_validate(args: dict[str, Any], problem: str) -> None:
    assert any(problem in p for p in Reboot(**args).validate())


def test_the_boot_fact_is_the_kernel_boot_and_the_start_of_pid_1() -> None:
    out = subprocess.run(["sh", "-c", FACTS], capture_output=True, text=True).stdout
    boot = next(line for line in out.splitlines() if line.startswith("boot="))
    kernel = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    started = Path("/proc/1/stat").read_text().rsplit(")", 1)[1].split()[19]
    assert boot == f"boot={kernel}@{started}"


class Rebooting:
    """A connection to a host that is down for `down` attempts, then answers with `boots` in turn."""

    def __init__(self, down: int, boots: list[str]) -> None:
        self.down, self.boots, self.reopened, self.locks = down, boots, 0, []
        self.abort: threading.Event | None = None

    def reopen(self) -> None:
        self.reopened += 1
        if self.reopened <= self.down:
            raise Unreachable("connect to 198.18.0.45:22 failed: Connection refused")

    def run(self, script: str, lock: str = "", **_: Any) -> Result:
        self.locks.append(lock)
        token = re.search(r"@@(\w+) facts", script)
        assert token is not None
        boot = self.boots.pop(0)
        return Result(f"@@{token[1]} facts\nboot={boot}\n\n@@{token[1]} pending\n", "", 0)


def test_come_back_reconnects_until_another_boot_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(converge, "RETRY", 0.0)
    host = Rebooting(down=2, boots=["a@1", "a@9"])  # refused twice, the old boot once more, then back
    facts = converge.come_back(host, "a@1", 5.0)  # type: ignore[arg-type]
    assert facts["boot"] == "a@9" and host.reopened == 4 and host.locks == ["x", "x"]  # the lock taken again


def test_come_back_fails_after_the_timeout_with_the_last_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(converge, "RETRY", 0.01)
    host = Rebooting(down=10**6, boots=[])
    with pytest.raises(HostFailed, match="did not come back from its reboot within 0 s .*Connection refused"):
        converge.come_back(host, "a@1", 0.2)  # type: ignore[arg-type]


def test_come_back_stops_waiting_when_the_run_is_interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(converge, "RETRY", 0.0)
    host = Rebooting(down=10**6, boots=[])
    host.abort = threading.Event()
    host.abort.set()
    with pytest.raises(HostFailed, match="interrupted while waiting"):
        converge.come_back(host, "a@1", 60.0)  # type: ignore[arg-type]
    assert host.reopened == 0
