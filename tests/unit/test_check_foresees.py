"""Check mode plans a step on what the changes before it would write, where its resource can tell."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from configurator.engine import chain
from configurator.engine.plan import Planned, decide
from configurator.errors import Location
from configurator.model.catalog import Entry
from configurator.resources.file import File, FileState
from configurator.resources.package import Package, PackageState
from configurator.resources.service import Service, ServiceState
from configurator.resources.touch import EVERYTHING, Touch
from configurator.resources.unit import Unit, UnitState

RUNNING = ServiceState("loaded", "active", "running", "enabled", False)
DROPIN = "/etc/systemd/system/ssh.service.d/override.conf"
RELOAD = "daemon-reload (unit file or drop-in changed)"


def planned(resource: Any, observed: Any) -> Planned:
    return decide(Entry(resource, "test", Location("test")), observed)


def new_file(path: str) -> Planned:
    return planned(File(path, b"[Service]\n"), FileState("absent"))


@pytest.mark.parametrize(("written", "reloads"), [
    ({("path", DROPIN)}, True),
    ({("path", "/run/systemd/system/ssh.service.d/x.conf")}, True),
    ({("path", "/etc/systemd/system/ssh.service")}, True),  # the unit file itself
    ({("tree", "/etc/systemd/system/ssh.service.d")}, True),  # the folder removed with its drop-ins
    ({("path", "/etc/systemd/system/ssh.service.d")}, False),  # an empty folder is no drop-in
    ({("path", "/etc/systemd/system/sshd.service.d/x.conf")}, False),  # another unit's
    ({("path", "/etc/systemd/system/ssh.service.d.bak/x.conf")}, False),
    ({("tree", "/etc/systemd")}, False),  # somewhere above: cannot tell, planned on the probe
    (set(EVERYTHING), False),  # a package's maintainer scripts: cannot tell
    ({*EVERYTHING, ("path", DROPIN)}, True),
])
def test_a_service_tells_a_written_unit_file_or_drop_in(written: set[Touch], reloads: bool) -> None:
    after = Service("ssh", state="running").after_writes(RUNNING, frozenset(written))
    assert (after == ServiceState("loaded", "active", "running", "enabled", True)) if reloads else after is None


def test_a_drop_in_written_before_the_service_is_foreseen() -> None:
    steps = chain.foresee([new_file(DROPIN), planned(Service("ssh", state="running"), RUNNING)])
    assert [(s.step.status, s.step.summary) for s in steps][1] == ("change", RELOAD)


@pytest.mark.parametrize("before", [
    [new_file("/etc/motd")],  # a write the service does not read
    [planned(Package("tree"), PackageState())],  # writes anything: cannot tell
    [planned(File(DROPIN, b"[Service]\n"),  # the drop-in already as wanted: no change, nothing written
             FileState("regular file", "644", "root", "root", hashlib.sha256(b"[Service]\n").hexdigest()))],
])
def test_the_others_stay_as_the_probe_saw_them(before: list[Planned]) -> None:
    service = planned(Service("ssh", state="running"), RUNNING)
    assert chain.foresee([*before, service])[-1] == service


def test_a_drop_in_written_after_the_service_changes_nothing_before_it() -> None:
    service = planned(Service("ssh", state="running"), RUNNING)
    assert chain.foresee([service, new_file(DROPIN)])[0] == service


def new_unit(name: str) -> Planned:
    """A `unit` step installing a new unit file: it runs its own daemon-reload."""
    return planned(Unit(name, content=b"[Service]\nExecStart=/bin/true\n"),
                   UnitState(FileState("absent"), ServiceState("not-found", "inactive", "dead", "", False)))


@pytest.mark.parametrize(("before", "reloads"), [
    ([new_unit("ssh.service")], False),  # the unit step wrote the file and reloaded: nothing left to load
    ([new_file(DROPIN), new_unit("other.service")], False),  # a reload after the drop-in took it in
    ([new_unit("other.service"), new_file(DROPIN)], True),  # the drop-in came after that reload
])
def test_a_daemon_reload_in_between_is_taken_into_account(before: list[Planned], reloads: bool) -> None:
    service = chain.foresee([*before, planned(Service("ssh", state="running"), RUNNING)])[-1]
    assert (service.step.summary == RELOAD) == reloads and service.step.status == ("change" if reloads else "ok")
