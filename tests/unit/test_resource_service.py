"""Service: `systemctl show` text in, systemctl argv out."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from configurator.engine.actions import Run
from configurator.resources.base import decide
from configurator.resources.service import Service

RELOAD = Run(("systemctl", "daemon-reload"))


def show(active: str = "active", unit_file: str = "enabled", load: str = "loaded", reload: str = "no") -> str:
    return f"LoadState={load}\nActiveState={active}\nUnitFileState={unit_file}\nNeedDaemonReload={reload}\n"


DROPIN = "/etc/systemd/system/nginx.service.d/50-limits.conf"


def dropins(*paths: str) -> str:
    """The drop-in section of a lone probe's output."""
    return "\n@@one dropins\n" + "".join(f"{p}\n" for p in paths)


def ctl(verb: str, name: str = "nginx") -> Run:
    return Run(("systemctl", verb, "--", name))


@pytest.mark.parametrize(("service", "observed", "status", "summary", "actions"), [
    (Service("nginx"), show(), "ok", "nginx active", ()),
    (Service("nginx"), show("activating"), "ok", "nginx activating", ()),
    (Service("nginx"), show("reloading"), "ok", "nginx reloading", ()),
    (Service("nginx"), show("inactive"), "change", "start nginx", (ctl("start"),)),
    (Service("nginx"), show("failed"), "change", "start nginx", (ctl("start"),)),
    (Service("nginx", "stopped"), show(), "change", "stop nginx", (ctl("stop"),)),
    (Service("nginx", "stopped"), show("inactive"), "ok", "nginx inactive", ()),
    (Service("nginx", "stopped"), show("failed"), "ok", "nginx failed", ()),
    (Service("nginx", "reloaded"), show(), "change", "reload-or-restart nginx", (ctl("reload-or-restart"),)),
    (Service("nginx", "reloaded"), show("inactive"), "change", "start nginx", (ctl("start"),)),
    (Service("nginx", "restarted"), show(), "change", "restart nginx", (ctl("restart"),)),
    (Service("nginx", "restarted"), show("inactive"), "change", "restart nginx", (ctl("restart"),)),
    (Service("nginx", enabled=True), show(unit_file="disabled"), "change", "enable nginx", (ctl("enable"),)),
    (Service("nginx", enabled=False), show(unit_file="enabled"), "change", "disable nginx", (ctl("disable"),)),
    (Service("nginx", enabled=False), show(unit_file="disabled"), "ok", "nginx active", ()),
    (Service("nginx", None, enabled=True), show("inactive", "disabled"), "change", "enable nginx",
     (ctl("enable"),)),
    (Service("nginx", "stopped", enabled=False), show("active", "enabled"), "change",
     "stop nginx, disable nginx", (ctl("stop"), ctl("disable"))),
    (Service("nginx"), show("inactive", reload="yes"), "change",
     "daemon-reload (unit file or drop-in changed), start nginx", (RELOAD, ctl("start"))),
    (Service("nginx"), show(reload="yes"), "change", "daemon-reload (unit file or drop-in changed)", (RELOAD,)),
    # a new drop-in folder is not watched by systemd (NeedDaemonReload stays "no"): the files on disk tell
    (Service("nginx"), show() + dropins(DROPIN), "change", "daemon-reload (unit file or drop-in changed)", (RELOAD,)),
    (Service("nginx", "restarted"), show() + dropins(DROPIN), "change",
     "daemon-reload (unit file or drop-in changed), restart nginx", (RELOAD, ctl("restart"))),
    (Service("nginx"), show() + f"DropInPaths={DROPIN}\n" + dropins(DROPIN), "ok", "nginx active", ()),
    (Service("nginx"), show() + f"DropInPaths={DROPIN}\n" + dropins(), "change",
     "daemon-reload (unit file or drop-in changed)", (RELOAD,)),  # a loaded drop-in removed since
    # drop-ins elsewhere (a type-wide service.d, packages' in /usr/lib) are systemd's to watch
    (Service("nginx"), show() + "DropInPaths=/usr/lib/systemd/system/service.d/10-timeout-abort.conf\n" + dropins(),
     "ok", "nginx active", ()),
    (Service("sshd"), show() + "DropInPaths=/etc/systemd/system/ssh.service.d/x.conf\n" + dropins(), "ok",
     "sshd active", ()),  # an alias: its drop-ins are its unit's
    (Service("nginx", enabled=True), show(unit_file="static"), "ok", "nginx active", ()),
    (Service("nginx"), show("activating") + "SubState=auto-restart\n", "change", "start nginx", (ctl("start"),)),
    (Service("nginx"), show(load="not-found"), "unknown", "unit nginx is not-found", ()),
    (Service("nginx"), show(load="masked"), "unknown", "unit nginx is masked", ()),
    (Service("nginx"), "System has not been booted with systemd as init system (PID 1).\n", "unknown",
     "unit nginx is not readable", ()),
    (Service("nginx"), "", "unknown", "unit nginx is not readable", ()),
])
def test_plan(service: Service, observed: str, status: str, summary: str, actions: tuple[Run, ...]) -> None:
    step = decide(service, observed)
    assert (step.status, step.summary, step.actions) == (status, summary, actions)


@pytest.mark.parametrize("service", [Service("nginx"), Service("a b'$(c)"), Service("getty@tty1.service")])
def test_probe_is_valid_sh(service: Service) -> None:
    subprocess.run(["sh", "-n", "-c", service.probe()], check=True)


def test_probe_and_plan_agree_on_this_machine() -> None:
    service = Service("no-such-unit-cfg")
    probe = subprocess.run(["sh", "-c", service.probe()], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
    step = decide(service, probe.stdout)
    # a missing unit reads as not-found under systemd, and without systemd nothing is readable
    assert step.status == "unknown"
    booted = Path("/run/systemd/system").is_dir()
    assert step.summary == ("unit no-such-unit-cfg is not-found" if booted else "unit no-such-unit-cfg is not readable")


@pytest.mark.parametrize(("service", "running", "enabled", "error"), [
    (Service("nginx"), True, True, None),
    (Service("nginx"), False, True, "service nginx is not running"),
    (Service("nginx", "stopped"), True, False, "service nginx is running"),
    (Service("nginx", "stopped", enabled=False), False, False, None),
    (Service("nginx", enabled=True), True, False, "service nginx enabled is False"),
])
def test_checks(service: Service, running: bool, enabled: bool, error: str | None) -> None:
    class Unit:
        is_running = running
        is_enabled = enabled

    class Host:
        @staticmethod
        def service(name: str) -> Unit:
            assert name == "nginx"
            return Unit()

    check = service.checks()[0]
    if error is None:
        check.test(Host())
    else:
        with pytest.raises(AssertionError, match=error):
            check.test(Host())
