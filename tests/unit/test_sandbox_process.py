"""Recorded processes: identified by PID and start time, stopped by reference only."""

import os
import signal
import subprocess

from configurator.sandbox import process


def test_own_process_is_alive_and_a_reused_pid_is_not():
    me = process.ref(os.getpid())
    assert process.alive(me)
    assert not process.alive(process.ProcessRef(me.pid, me.start + 1))
    assert not process.alive(process.ProcessRef(0, 0))


def test_stop_terminates_a_started_child():
    child = subprocess.Popen(["sleep", "60"])
    ref = process.ref(child.pid)
    process.stop(ref, signal.SIGTERM, grace=5)
    assert not process.alive(ref)
    child.wait(5)  # the status was already collected by process.stop


def test_wait_child_finds_the_forked_child():
    parent = subprocess.Popen(["sh", "-c", "sleep 30; true"])
    try:
        child = process.wait_child(process.ref(parent.pid), 5)
        assert child.pid in process.children(parent.pid)
    finally:
        process.stop(process.ref(parent.pid), signal.SIGKILL, grace=5)
        parent.wait(5)
