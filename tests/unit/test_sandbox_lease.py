"""Sessions sharing a sandbox: the last lease holder takes it down, only if a holder started it."""

import signal
import subprocess

from configurator.sandbox import lease, process


def other_holder(leases):
    child = subprocess.Popen(["sleep", "60"])
    ref = process.ref(child.pid)
    (leases / f"{ref.pid}-{ref.start}").touch()
    return child, ref


def test_last_holder_stops_a_sandbox_a_holder_started(tmp_path):
    stopped = []
    ticket = lease.acquire(tmp_path)
    child, ref = other_holder(ticket.path.parent)
    try:
        assert not lease.release(ticket, stop=lambda: stopped.append(1))
        assert stopped == []
    finally:
        process.stop(ref, signal.SIGKILL)
        child.wait(5)
    ticket = lease.acquire(tmp_path)
    assert lease.release(ticket, stop=lambda: stopped.append(1))
    assert stopped == [1]


def test_dead_holders_do_not_count(tmp_path):
    leases = tmp_path / lease.LEASES
    leases.mkdir()
    (leases / "999999-1").touch()
    assert lease.holders(leases) == []
    assert not (leases / "999999-1").exists()


def test_a_sandbox_started_by_hand_is_left_running(tmp_path):
    ticket = lease.acquire(tmp_path)
    (tmp_path / lease.LEASES / lease.STARTED).unlink()  # as if it already ran before the session
    assert not lease.release(ticket, stop=lambda: (_ for _ in ()).throw(AssertionError))


def test_a_kept_sandbox_is_still_taken_down_by_a_later_last_holder(tmp_path):
    stopped = []
    assert not lease.release(lease.acquire(tmp_path), stop=None)
    assert lease.release(lease.acquire(tmp_path), stop=lambda: stopped.append(1))
    assert stopped == [1]
