"""The gate of a batch with hooks: converge over the local connection stops between its plan and its
changes; the before-hooks are decided once per batch, only when a host has something to change."""

from __future__ import annotations

import grp
import os
import pwd
import threading
from pathlib import Path

import pytest

from configurator.connections.local import LocalSession
from configurator.connections.shell import PATH
from configurator.engine.converge import converge
from configurator.engine.gate import BatchGate, NotStarted
from configurator.errors import Location
from configurator.model.catalog import Catalog, Entry
from configurator.model.inventory import Host, Ssh
from configurator.resources.file import File

HOST = Host("here", "here", Ssh(lock_wait=0, command_timeout=60), connection="local")


def catalog(path: Path, content: bytes) -> Catalog:
    """One file owned by whoever runs the tests, mode 0644."""
    found = File(str(path), content, owner=pwd.getpwuid(os.geteuid()).pw_name, group=grp.getgrgid(os.getegid()).gr_name)
    return Catalog(HOST, {}, (Entry(found, "test", Location("test"), ()),), {}, ())  # type: ignore[arg-type]


class Decisions:
    """The gate's decide: records what it was asked (and when the file looked how), refuses if told to."""

    def __init__(self, path: Path, refusal: str = "") -> None:
        self.path, self.refusal = path, refusal
        self.asked: list[tuple[bool, bytes | None]] = []

    def __call__(self, needed: bool) -> str:
        self.asked.append((needed, self.path.read_bytes() if self.path.exists() else None))
        return self.refusal if needed else ""


def run(private_dir: Path, plan: Catalog, gate: BatchGate) -> int:
    """Converge through the gate as the executor does; its round trips."""
    shell = LocalSession(HOST, state_dir=private_dir / "state", path=PATH)
    try:
        converge(shell, plan, False, lambda host, item, status: None, None, gate.planned)
        return shell.round_trips
    finally:
        shell.close()


def test_a_converged_host_passes_the_gate_without_hooks_in_one_round_trip(private_dir):
    target = private_dir / "app.conf"
    target.write_bytes(b"v1\n")
    target.chmod(0o644)
    decide = Decisions(target)
    assert run(private_dir, catalog(target, b"v1\n"), BatchGate(["here"], decide)) == 1
    assert decide.asked == [(False, b"v1\n")]


def test_a_changed_host_is_decided_before_its_change(private_dir):
    target = private_dir / "app.conf"
    target.write_bytes(b"v1\n")
    decide = Decisions(target)
    run(private_dir, catalog(target, b"v2\n"), BatchGate(["here"], decide))
    assert decide.asked == [(True, b"v1\n")]  # the hooks ran while the file was still the old one
    assert target.read_bytes() == b"v2\n"


def test_a_failed_before_hook_leaves_the_planned_host_unchanged(private_dir):
    target = private_dir / "app.conf"
    target.write_bytes(b"v1\n")
    gate = BatchGate(["here"], Decisions(target, "not started: the apps 1/1 before-hook on lb1: failed"))
    with pytest.raises(NotStarted, match="before-hook on lb1"):
        run(private_dir, catalog(target, b"v2\n"), gate)
    assert target.read_bytes() == b"v1\n" and not gate.hooks_ran


def test_the_last_host_decides_for_the_batch_and_a_host_that_never_planned_counts_as_unchanged():
    asked: list[bool] = []
    gate = BatchGate(["a", "b", "c"], lambda needed: asked.append(needed) or "")
    waiting = threading.Thread(target=gate.arrive, args=("a", False))
    waiting.start()
    gate.leave("c")  # unreachable: it never planned
    assert asked == [] and waiting.is_alive()  # b has not planned yet: nobody goes on
    gate.arrive("b", True)
    waiting.join(5)
    assert asked == [True] and not waiting.is_alive() and gate.hooks_ran
    gate.leave("b")  # its run ends: already counted, nothing decided twice
    assert asked == [True]
