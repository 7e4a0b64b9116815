"""Mounts and systemd units on real hosts: a tmpfs and a bind mount (the mount table and fstab), a
service and its timer (list-timers, NextElapse), one daemon-reload for both, a remount when the
options change, 0 changes and one round trip once converged."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from configurator.sandbox import load
from configurator.sandbox.power import Watch
from tests.integration.engine_helpers import changed_steps, configure, sh, write_inventory

pytestmark = pytest.mark.integration
HOSTS = ["node35", "node36", "node37"]  # bookworm, bullseye, trixie (SANDBOX_RELEASES)
SCRATCH, BIND, DATA = "/mnt/cfgscratch", "/mnt/cfgbind", "/srv/cfgdata"
ROLE = """\
resources:
  - directory: {path: /srv/cfgdata}
  - file: {path: /srv/cfgdata/hello, content: "hi\\n"}
  - mount: {path: /mnt/cfgscratch, device: tmpfs, fstype: tmpfs, opts: "{{ scratch_opts }}", state: "{{ mounts }}"}
  - mount: {path: /mnt/cfgbind, device: /srv/cfgdata, fstype: none, opts: "bind,ro", state: "{{ mounts }}"}
  - file: {path: /usr/local/bin/cfg-tick, mode: "0755", content: "#!/bin/sh\\ndate >> /var/tmp/cfg-tick.log\\n"}
  - unit:
      name: cfg-tick.service
      content: |
        [Unit]
        Description=configurator test tick
        [Service]
        Type=oneshot
        ExecStart=/usr/local/bin/cfg-tick
  - unit_template: {name: cfg-tick.timer, src: cfg-tick.timer.j2, enabled: true, state: started}
"""
TIMER = """\
[Unit]
Description=configurator test tick, {{ tick_calendar }}
[Timer]
OnCalendar={{ tick_calendar }}
[Install]
WantedBy=timers.target
"""
CLEAN = (f"umount {SCRATCH} {BIND} 2>/dev/null; sed -i '/cfgscratch\\|cfgbind/d' /etc/fstab; "
         "systemctl disable --now cfg-tick.timer 2>/dev/null; "
         f"rm -rf /etc/systemd/system/cfg-tick.* {SCRATCH} {BIND} {DATA}; systemctl daemon-reload")


def project(sandbox: Any, top: Path, host: str, **role_vars: str) -> Path:
    """roles/mount_unit_demo beside an inventory that puts it on `host` with `role_vars`."""
    role = top / "roles" / "mount_unit_demo"
    (role / "templates").mkdir(parents=True, exist_ok=True)
    (role / "role.yml").write_text(ROLE)
    (role / "templates" / "cfg-tick.timer.j2").write_text(TIMER)
    values = {"scratch_opts": "defaults,size=16m,mode=0755,nosuid", "mounts": "mounted",
              "tick_calendar": "*:0/15", **role_vars}
    return write_inventory(sandbox, top / "inventory.yml",
                           {"demo": {"hosts": [host], "roles": ["mount_unit_demo"], "vars": values}},
                           roles_path=["roles"])


def mounted(host: Any, path: str) -> list[str]:
    """The mountinfo line of `path` split in fields (empty when nothing is mounted there)."""
    return sh(host, f"grep -F ' {path} ' /proc/self/mountinfo || true").split()


def reloads_since(host: Any, since: float) -> int:
    """How many times systemd reloaded its configuration after `since` (the host's clock), once the
    journal has written it all (journald writes a moment later; bounded wait for the count to settle)."""
    counts: list[int] = []
    for _ in range(10):
        out = sh(host, f"journalctl --sync; journalctl _PID=1 -o short-unix --no-pager --since=@{int(since)}")
        counts.append(sum(1 for line in out.splitlines() if _reload_after(line, since)))
        if len(counts) >= 2 and counts[-1] == counts[-2] and counts[-1] > 0:
            break
        time.sleep(0.5)
    return counts[-1]


def _reload_after(line: str, since: float) -> bool:
    """Whether a short-unix journal line is systemd's "Reloading." (252) or "Reloading..." (257) after `since`."""
    stamp, _, rest = line.partition(" ")
    return rest.endswith((": Reloading.", ": Reloading...")) and float(stamp) > since


def clock(host: Any) -> float:
    return float(sh(host, "date +%s.%N"))


def recorded(sandbox: Any, name: str) -> Any:
    """The host as state.json has it now: a reboot gives it new PIDs."""
    current = load(sandbox.state_dir)
    return (current or sandbox).host(name)


@pytest.fixture(params=HOSTS)
def host(request: pytest.FixtureRequest, sandbox: Any) -> Any:
    found = recorded(sandbox, request.param)
    sh(found, CLEAN, check=False)
    yield found
    sh(recorded(sandbox, request.param), CLEAN, check=False)


def test_mounts_and_a_timer_converge_once_then_stay_one_round_trip(sandbox, host, tmp_path):
    inventory = project(sandbox, tmp_path, host.name)
    before = clock(host)
    code, report = configure("apply", inventory, report=tmp_path / "apply.json")
    assert code == 0, report
    scratch, bind = mounted(host, SCRATCH), mounted(host, BIND)
    assert scratch[scratch.index("-") + 1] == "tmpfs" and "size=16384k" in scratch[-1] and "nosuid" in scratch[5]
    assert bind[3] == DATA and bind[5].split(",")[0] == "ro"
    assert sh(host, f"cat {BIND}/hello") == "hi\n"
    fstab = sh(host, "cat /etc/fstab").splitlines()
    assert f"tmpfs {SCRATCH} tmpfs defaults,size=16m,mode=0755,nosuid 0 0" in fstab
    assert f"{DATA} {BIND} none bind,ro 0 0" in fstab
    assert reloads_since(host, before) == 1  # two new units, one daemon-reload
    assert "cfg-tick.timer" in sh(host, "systemctl list-timers --no-pager cfg-tick.timer")
    assert sh(host, "systemctl show -p NextElapseUSecRealtime --value cfg-tick.timer").strip()
    assert sh(host, "systemctl is-enabled cfg-tick.timer").strip() == "enabled"

    code, again = configure("apply", inventory, report=tmp_path / "again.json")
    assert code == 0 and again is not None and changed_steps(again, ("changed",)) == {host.name: []}, again
    assert again["hosts"][0]["round_trips"] == 1
    code, verified = configure("verify", inventory, report=tmp_path / "verify.json")
    assert code == 0, verified
    sh(host, f"systemctl stop cfg-tick.timer && umount {BIND}")
    code, broken = configure("verify", inventory, report=tmp_path / "broken.json")
    assert code == 4 and broken is not None, broken
    failed = {c["subject"] for c in broken["hosts"][0]["checks"] if c["status"] == "failed"}
    assert failed == {"unit[cfg-tick.timer]", f"mount[{BIND}]"}, broken


def test_changed_options_remount_in_place_and_a_changed_timer_reloads_once(sandbox, host, tmp_path):
    assert configure("apply", project(sandbox, tmp_path, host.name))[0] == 0
    sh(host, f"echo kept > {SCRATCH}/marker")
    before = clock(host)
    changed = project(sandbox, tmp_path, host.name, scratch_opts="size=8m,mode=0755,noexec",
                      tick_calendar="*:0/30")
    code, report = configure("apply", changed, report=tmp_path / "apply.json")
    assert code == 0, report
    scratch = mounted(host, SCRATCH)
    assert "size=8192k" in scratch[-1] and "noexec" in scratch[5] and "nosuid" not in scratch[5]
    assert sh(host, f"cat {SCRATCH}/marker") == "kept\n"  # remounted, not mounted afresh
    assert reloads_since(host, before) == 1
    assert "OnCalendar=*:0/30" in sh(host, "systemctl cat cfg-tick.timer")
    code, again = configure("apply", changed, report=tmp_path / "again.json")
    assert code == 0 and again is not None and changed_steps(again, ("changed",)) == {host.name: []}, again
    assert again["hosts"][0]["round_trips"] == 1


def test_a_mode_that_a_remount_keeps_is_mounted_afresh_and_then_stays(sandbox, host, tmp_path):
    assert configure("apply", project(sandbox, tmp_path, host.name))[0] == 0
    sh(host, f"echo gone > {SCRATCH}/marker")
    changed = project(sandbox, tmp_path, host.name, scratch_opts="size=16m,mode=0700")
    assert configure("apply", changed)[0] == 0
    scratch = mounted(host, SCRATCH)
    assert "mode=700" in scratch[-1] and sh(host, f"stat -c %a {SCRATCH}").strip() == "700"
    assert sh(host, f"ls -A {SCRATCH}") == ""  # a fresh tmpfs
    code, again = configure("apply", changed, report=tmp_path / "again.json")
    assert code == 0 and again is not None and changed_steps(again, ("changed",)) == {host.name: []}, again


def test_unmounted_then_absent(sandbox, host, tmp_path):
    assert configure("apply", project(sandbox, tmp_path, host.name))[0] == 0
    assert configure("apply", project(sandbox, tmp_path, host.name, mounts="unmounted"))[0] == 0
    assert mounted(host, SCRATCH) == [] and mounted(host, BIND) == []
    assert SCRATCH in sh(host, "cat /etc/fstab")
    assert configure("apply", project(sandbox, tmp_path, host.name, mounts="absent"))[0] == 0
    assert SCRATCH not in sh(host, "cat /etc/fstab") and BIND not in sh(host, "cat /etc/fstab")


def test_a_unit_that_systemd_refuses_is_never_installed(sandbox, host, tmp_path):
    inventory = project(sandbox, tmp_path, host.name)
    role = tmp_path / "roles" / "mount_unit_demo" / "role.yml"
    role.write_text(ROLE.replace("ExecStart=/usr/local/bin/cfg-tick", "ExecStart=/usr/local/bin/cfg-missing"))
    code, report = configure("apply", inventory, report=tmp_path / "apply.json")
    assert code == 1 and report is not None
    assert "cfg-missing" in report["hosts"][0]["error"], report
    assert sh(host, "ls /etc/systemd/system/ | grep cfg-tick || true") == ""


def test_a_mount_point_below_a_directory_others_can_write_is_refused(sandbox, host, tmp_path):
    """/tmp is everyone's: a user could swap the mount point for a symlink to /etc between two commands."""
    sh(host, "mkdir -p /tmp/cfg-shared && rm -f /tmp/cfg-shared.log")
    role = tmp_path / "roles" / "mount_shared_demo"
    role.mkdir(parents=True)
    (role / "role.yml").write_text("resources:\n  - mount: {path: /tmp/cfg-shared, device: tmpfs, fstype: tmpfs}\n")
    inventory = write_inventory(sandbox, tmp_path / "inventory.yml",
                                {"demo": {"hosts": [host.name], "roles": ["mount_shared_demo"]}}, roles_path=["roles"])
    try:
        code, report = configure("apply", inventory, report=tmp_path / "apply.json")
        assert code == 1 and report is not None and "refusing to act in /tmp" in report["hosts"][0]["error"], report
        assert mounted(host, "/tmp/cfg-shared") == []
    finally:
        sh(host, "umount /tmp/cfg-shared 2>/dev/null; sed -i '/cfg-shared/d' /etc/fstab; rmdir /tmp/cfg-shared",
           check=False)


REBOOT_ROLE = """\
resources:
  - file: {path: /srv/cfg-before, content: "before\\n"}
    notify: reboot now
  - reboot: {if_exists: /run/reboot-required, timeout: 180}
  - file: {path: /srv/cfg-after, content: "after\\n"}
handlers:
  reboot now: {reboot: {timeout: 180}}
"""


def init_started(host: Any) -> str:
    """When PID 1 started (clock ticks since the kernel booted): a sandbox reboot keeps the kernel's boot id."""
    return sh(host, "cut -d' ' -f22 /proc/1/stat").strip()


def test_reboot_when_asked_and_as_a_handler_then_the_run_goes_on(sandbox, host, tmp_path):
    role = tmp_path / "roles" / "reboot_demo"
    role.mkdir(parents=True)
    (role / "role.yml").write_text(REBOOT_ROLE)
    inventory = write_inventory(sandbox, tmp_path / "inventory.yml",
                                {"demo": {"hosts": [host.name], "roles": ["reboot_demo"]}}, roles_path=["roles"])
    sh(host, "rm -f /srv/cfg-before /srv/cfg-after; touch /run/reboot-required")
    before = init_started(host)
    with Watch(sandbox, [host.name]) as power:  # the sandbox boots a host again, on its disk, when it reboots
        started = time.monotonic()
        code, report = configure("apply", inventory, report=tmp_path / "apply.json")
        took = time.monotonic() - started
        assert not power.errors, power.errors
        back = power.current(host.name)
    assert code == 0 and report is not None, report
    entry = report["hosts"][0]
    assert [(s["resource"], s["status"]) for s in entry["steps"]] == [
        ("file[/srv/cfg-before]", "changed"), ("reboot[/run/reboot-required]", "changed"),
        ("file[/srv/cfg-after]", "changed")], entry
    assert entry["handlers"] == ["reboot now"], entry
    assert back.pid != host.pid and init_started(back) != before
    assert sh(back, "cat /srv/cfg-before /srv/cfg-after") == "before\nafter\n"  # the disk is kept
    assert sh(back, "ls /run/reboot-required 2>/dev/null || true") == ""
    assert took < 2 * 180
    code, again = configure("apply", inventory, report=tmp_path / "again.json")
    assert code == 0 and again is not None and changed_steps(again, ("changed",)) == {host.name: []}, again
    assert again["hosts"][0]["round_trips"] == 1 and not again["hosts"][0]["handlers"]
    sh(back, "rm -f /srv/cfg-before /srv/cfg-after")


def test_a_rolling_group_reboots_one_batch_at_a_time(sandbox, tmp_path):
    """serial: 1 over two hosts: the second starts only once the first is back from its reboot."""
    names = ["node35", "node36"]
    role = tmp_path / "roles" / "reboot_roll"
    role.mkdir(parents=True)
    (role / "role.yml").write_text("resources:\n  - reboot: {if_exists: /run/reboot-required, timeout: 180}\n")
    inventory = write_inventory(sandbox, tmp_path / "inventory.yml",
                                {"roll": {"hosts": names, "roles": ["reboot_roll"], "serial": 1}}, roles_path=["roles"])
    before = {}
    for name in names:
        found = recorded(sandbox, name)
        sh(found, "touch /run/reboot-required")
        before[name] = init_started(found)
    with Watch(sandbox, names) as power:
        code, report = configure("apply", inventory, report=tmp_path / "apply.json")
        assert not power.errors, power.errors
        after = {name: init_started(power.current(name)) for name in names}
    assert code == 0 and report is not None, report
    first, second = sorted(report["hosts"], key=lambda h: h["batch"]["index"])
    assert [first["host"], second["host"]] == names
    assert datetime.fromisoformat(second["started"]) >= datetime.fromisoformat(first["ended"]), report
    assert all(after[n] != before[n] for n in names)
