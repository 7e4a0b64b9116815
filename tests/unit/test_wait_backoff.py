"""--wait as data: the retry schedule on a fake clock, and what the final error keeps."""

from __future__ import annotations

import paramiko
import pytest

from configurator.cli import commands as cli
from configurator.connections import ssh
from configurator.connections.hostkeys import HostKeys
from configurator.connections.route import Hop, Route
from configurator.connections.waiting import Backoff, GaveUp, Transient, cloud_init_wait, folded, retry
from configurator.errors import Unreachable


class FakeClock:
    """Time passes only when slept in, or when an attempt says it took long."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def failing(clock: FakeClock, reasons: list[str], cost: float = 0.0, then: object = None):
    """An attempt that raises the given reasons in turn (each costing `cost` seconds), then returns `then`."""
    given: list[float] = []

    def attempt(left: float) -> object:
        given.append(left)
        clock.now += cost
        if reasons:
            raise Transient(reasons.pop(0))
        return then

    return attempt, given


@pytest.mark.parametrize(("attempt", "rand", "delay"), [
    (1, 0.0, 0.5), (2, 0.0, 1.0), (3, 0.0, 2.0), (4, 0.0, 4.0), (5, 0.0, 8.0), (9, 0.0, 8.0),
    (1, 1.0, 0.35), (4, 0.5, 3.4),
])
def test_delays_grow_exponentially_up_to_a_cap_and_jitter_only_shortens(attempt, rand, delay):
    assert Backoff().delay(attempt, lambda: rand) == pytest.approx(delay)


def test_retry_sleeps_the_backoff_until_the_host_answers():
    clock = FakeClock()
    attempt, _ = failing(clock, ["refused"] * 3, then="session")
    result, left = retry(attempt, 30, clock, Backoff(), rand=lambda: 0.0)
    assert result == "session"
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert left == pytest.approx(30 - 3.5)


def test_retry_is_bounded_by_the_budget_overall_and_keeps_every_reason():
    clock = FakeClock()
    reasons = ["connect to h:22 failed: Connection refused"] * 4 + ["connect to h:22 timed out after 5s"] * 20
    attempt, given = failing(clock, list(reasons), cost=1.0)
    with pytest.raises(GaveUp) as caught:
        retry(attempt, 20, clock, Backoff(), rand=lambda: 0.0)
    assert clock.now - 100.0 <= 20
    assert caught.value.reasons == reasons[:len(given)]
    assert "Connection refused (x4)" in str(caught.value) and "timed out after 5s" in str(caught.value)
    assert isinstance(caught.value, Unreachable)  # exit 3, as without --wait
    assert all(left <= 20 for left in given)
    assert given[-1] == pytest.approx(20 - (clock.now - 100.0 - 1.0))  # the last try got what was left


def test_a_failure_that_waiting_cannot_cure_ends_the_retry_at_once():
    clock = FakeClock()

    def attempt(left: float) -> object:
        raise Unreachable("host key for h CHANGED")

    with pytest.raises(Unreachable, match="CHANGED"):
        retry(attempt, 30, clock, Backoff(), rand=lambda: 0.0)
    assert clock.sleeps == []


def test_folded_keeps_order_and_counts_runs():
    assert folded(["a", "a", "b", "a"]) == ["a (x2)", "b", "a"]


def test_cloud_init_wait_is_bounded_and_fails_the_shell_past_it():
    text = cloud_init_wait(12.7)
    assert "command -v cloud-init" in text and "timeout 12 cloud-init status --wait" in text
    assert "exit 1" in text


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
def test_wait_takes_seconds_zero_or_more(value, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["apply", "inventory.yml", "--wait", value])
    assert stopped.value.code == 64 and "--wait" in capsys.readouterr().err


class BannerLate(paramiko.SSHClient):
    """An sshd that accepted the TCP connection but has not sent its banner yet."""

    def connect(self, *args: object, **kwargs: object) -> None:
        raise paramiko.SSHException("Error reading SSH protocol banner")


@pytest.mark.parametrize("label", ["", "bastion root@198.18.0.9:22: "])
def test_an_sshd_still_starting_is_waited_for_on_the_host_and_on_a_bastion(tmp_path, monkeypatch, label):
    monkeypatch.setattr(paramiko, "SSHClient", BannerLate)
    hop = Hop("198.18.0.9", 22, "root")
    with pytest.raises(Transient, match="banner"):
        ssh._open(hop, Route((hop,)), HostKeys(str(tmp_path / "known_hosts"), False), None, 1.0, label)
