"""The converge loop over the local connection, in a private temporary directory: no root, no network.

Each run opens a `LocalSession` whose state directory (lock, pending handlers) lies in the test's
private folder; package steps meet fake `apt-get`, `dpkg-query` and `date` put first on the
session's PATH, which log what they were asked.
"""

from __future__ import annotations

import grp
import os
import pwd
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from configurator.connections.local import LocalSession
from configurator.connections.shell import PATH
from configurator.engine.converge import Locked, Outcome, converge
from configurator.errors import HostFailed, Location
from configurator.model.catalog import Catalog, Entry
from configurator.model.inventory import Host, Ssh
from configurator.resources.command import Command
from configurator.resources.file import File
from configurator.resources.line import Line
from configurator.resources.package import Package

HOST = Host("here", "here", Ssh(lock_wait=0, command_timeout=60), connection="local")

FAKES = {
    # every package unknown to dpkg, so each package step is an install
    "dpkg-query": "#!/bin/sh\nexit 1\n",
    "apt-get": '#!/bin/sh\nprintf "%s\\n" "$*" >> "$(dirname "$0")/apt.log"\n',
    # the package lists look fresh (age <= 0): no `apt-get update` step
    "date": '#!/bin/sh\nif [ "$1" = +%s ]; then echo 0; else exec /bin/date "$@"; fi\n',
}


@pytest.fixture
def fakes(private_dir: Path) -> Path:
    folder = private_dir / "bin"
    folder.mkdir()
    for name, text in FAKES.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return folder


def file(path: Path, content: bytes) -> File:
    """A file owned by whoever runs the tests (root would own it by default)."""
    return File(str(path), content, owner=pwd.getpwuid(os.geteuid()).pw_name, group=grp.getgrgid(os.getegid()).gr_name)


def entry(resource: object, *notify: str) -> Entry:
    return Entry(resource, "test", Location("test"), notify)  # type: ignore[arg-type]


def catalog(*entries: Entry, handlers: dict[str, Entry] | None = None) -> Catalog:
    return Catalog(HOST, {}, entries, handlers or {}, ())


def session(private_dir: Path, fakes: Path | None = None) -> LocalSession:
    search = f"{fakes}:{PATH}" if fakes else PATH
    return LocalSession(HOST, state_dir=private_dir / "state", path=search)


def apply(private_dir: Path, plan: Catalog, fakes: Path | None = None) -> tuple[Outcome, int]:
    """One run as the executor does it: a session, converge, close; the outcome and its round trips."""
    shell = session(private_dir, fakes)
    try:
        return converge(shell, plan, False, lambda host, item, status: None), shell.round_trips
    finally:
        shell.close()


def statuses(outcome: Outcome) -> list[str]:
    return [str(status) for _, status in outcome.steps]


def test_a_later_step_is_decided_on_the_state_an_earlier_step_made(private_dir):
    target = private_dir / "conf"
    plan = catalog(entry(file(target, b"a=1\n")), entry(Line(str(target), line="a=1", create=True)))
    outcome, _ = apply(private_dir, plan)
    assert outcome.error == ""
    assert statuses(outcome) == ["changed", "ok"]  # the line was there once the file was written
    assert target.read_bytes() == b"a=1\n"
    again, round_trips = apply(private_dir, plan)
    assert statuses(again) == ["ok", "ok"] and round_trips == 1


def test_consecutive_package_changes_run_as_one_apt_get(private_dir, fakes):
    after = private_dir / "after"
    plan = catalog(entry(Package("alpha")), entry(Package("beta")), entry(Package("gamma")),
                   entry(file(after, b"x\n")), entry(Package("delta")))
    outcome, _ = apply(private_dir, plan, fakes)
    assert outcome.error == ""
    calls = (fakes / "apt.log").read_text().splitlines()
    assert len(calls) == 2, calls  # alpha, beta and gamma in one transaction; delta after the file
    assert calls[0].split(" -- ")[1].split() == ["alpha", "beta", "gamma"] and " install " in f" {calls[0]}"
    assert calls[1].split(" -- ")[1].split() == ["delta"]
    assert after.read_bytes() == b"x\n"


def test_the_steps_after_a_failure_are_not_run(private_dir):
    first, later = private_dir / "first", private_dir / "later"
    plan = catalog(entry(file(first, b"1\n")), entry(Command(("sh", "-c", "echo broken >&2; exit 3"))),
                   entry(file(later, b"2\n")), entry(Line(str(later), line="x", create=True)))
    outcome, _ = apply(private_dir, plan)
    assert statuses(outcome) == ["changed", "failed", "skipped", "skipped"]
    assert "exit 3" in outcome.error and "broken" in outcome.error
    assert first.exists() and not later.exists()


def test_a_handler_notified_before_a_failure_runs_once_on_the_next_run(private_dir):
    log, conf = private_dir / "handler.log", private_dir / "conf"
    handlers = {"reload": entry(Command(("sh", "-c", f"echo ran >> {log}")))}
    failing = catalog(entry(file(conf, b"v=1\n"), "reload"), entry(Command(("false",))), handlers=handlers)
    outcome, _ = apply(private_dir, failing)
    assert outcome.error and outcome.handlers == [] and not log.exists()
    assert (private_dir / "state" / "handlers.pending").read_text() == "reload\n"

    fixed = catalog(entry(file(conf, b"v=1\n"), "reload"), handlers=handlers)
    outcome, _ = apply(private_dir, fixed)
    assert statuses(outcome) == ["ok"] and outcome.handlers == ["reload"]
    assert log.read_text() == "ran\n"
    assert (private_dir / "state" / "handlers.pending").read_text() == ""
    outcome, _ = apply(private_dir, fixed)
    assert outcome.handlers == [] and log.read_text() == "ran\n"


def test_a_write_its_validator_refused_leaves_no_handler_pending(private_dir):
    log, conf, other = private_dir / "handler.log", private_dir / "conf", private_dir / "other"
    handlers = {"reload": entry(Command(("sh", "-c", f"echo ran >> {log}"))),
                "restart": entry(Command(("sh", "-c", f"echo restarted >> {log}")))}
    refused = replace(file(conf, b"v=bad\n"), validator=("sh", "-c", "grep -q good \"$1\"", "check", "%s"))
    plan = catalog(entry(file(other, b"1\n"), "restart"), entry(refused, "reload"), handlers=handlers)
    outcome, _ = apply(private_dir, plan)
    assert statuses(outcome) == ["changed", "failed"] and "validation refused" in outcome.error
    assert not conf.exists() and not log.exists()
    # the refused file changed nothing, so nothing is left to reload; the earlier change's handler stays
    assert (private_dir / "state" / "handlers.pending").read_text() == "restart\n"


def test_a_handler_that_fails_after_another_ran_stays_pending(private_dir):
    log, conf = private_dir / "handler.log", private_dir / "conf"
    handlers = {"first": entry(Command(("sh", "-c", f"echo first >> {log}"))), "second": entry(Command(("false",)))}
    outcome, _ = apply(private_dir, catalog(entry(file(conf, b"v=1\n"), "first", "second"), handlers=handlers))
    assert outcome.handlers == ["first"] and "handler 'second'" in outcome.error
    assert log.read_text() == "first\n"
    assert (private_dir / "state" / "handlers.pending").read_text() == "second\n"  # replayed by the next run


def test_a_second_session_cannot_take_the_host_lock(private_dir):
    plan = catalog(entry(file(private_dir / "f", b"1\n")))
    holder = session(private_dir)
    try:
        assert holder.run("true", lock="x").status == 0
        with pytest.raises(Locked, match="holds the lock"):
            apply(private_dir, plan)
        assert not (private_dir / "f").exists()
    finally:
        holder.close()  # its shell ends: the lock is free again
    outcome, _ = apply(private_dir, plan)
    assert outcome.error == "" and (private_dir / "f").exists()


def test_a_state_directory_that_others_may_write_refuses_the_host(private_dir):
    (private_dir / "state").mkdir()
    (private_dir / "state").chmod(0o777)
    with pytest.raises(HostFailed, match="must be .* directory with mode 0700"):
        apply(private_dir, catalog(entry(file(private_dir / "f", b"1\n"))))
    assert not (private_dir / "f").exists()


def test_a_state_directory_only_its_owner_can_write_is_tightened(private_dir):
    (private_dir / "state").mkdir()
    (private_dir / "state").chmod(0o755)
    apply(private_dir, catalog(entry(file(private_dir / "f", b"1\n"))))
    assert (private_dir / "f").read_bytes() == b"1\n"
    assert (private_dir / "state").stat().st_mode & 0o777 == 0o700


def test_a_command_past_its_timeout_is_ended_with_its_children(private_dir):
    shell = session(private_dir)
    started = time.monotonic()
    try:
        with pytest.raises(HostFailed, match="timed out after 1s"):
            shell.run(f"setsid sleep 300 & echo $! > {private_dir}/pid; wait", timeout=1)
    finally:
        shell.close()
    assert time.monotonic() - started < 20
    pid = int((private_dir / "pid").read_text())
    assert _gone(pid)


def test_an_abort_ends_the_running_step(private_dir):
    shell = session(private_dir)
    shell.abort = threading.Event()
    timer = threading.Timer(0.5, shell.abort.set)
    timer.start()
    try:
        with pytest.raises(HostFailed, match="interrupted: the running step was stopped"):
            shell.run(f"echo $$ > {private_dir}/pid; exec sleep 300", timeout=60)
    finally:
        timer.cancel()
        shell.close()
    assert _gone(int((private_dir / "pid").read_text()))


def _gone(pid: int) -> bool:
    """Whether process `pid` ended (a zombie counts: it no longer runs), waiting a few seconds at most."""
    for _ in range(50):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def test_without_become_the_shell_runs_as_the_user_running_configure(private_dir):
    shell = session(private_dir)
    try:
        assert shell.run("id -u").stdout.strip() == str(os.geteuid())
        assert shell.run("printf %s \"$__cfg_dir\"").stdout == str(private_dir / "state")
    finally:
        shell.close()
