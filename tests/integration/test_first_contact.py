"""First contact on real hosts: bootstrap by password (node49) and waiting for a late sshd (node50)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.engine_helpers import configure, sh, ssh_settings, write_inventory

pytestmark = pytest.mark.integration

PASSWORD = "first-contact-Pw-7d1e"
ADMIN = "ops"
# its login session (systemd --user) may outlive the test's SSH login: end it, else userdel refuses
FORGET_ADMIN = (f"loginctl terminate-user {ADMIN} 2>/dev/null; "
                f"! id {ADMIN} >/dev/null 2>&1 || userdel -f -r {ADMIN} 2>/dev/null; ! id {ADMIN} 2>/dev/null")
ON_TIME = "--timer-property=AccuracySec=100ms"  # systemd may fire a timer up to a minute late by default
OUR_DROP_IN = "/etc/ssh/sshd_config.d/60-first-contact.conf"  # after base's 50-: its settings win over ours


def _password_only(host: Any) -> None:
    """A fresh cloud VM as bootstrap meets it: root logs in with a password, no key is authorized, no admin."""
    sh(host, f"{FORGET_ADMIN}; rm -f /etc/sudoers.d/admin-{ADMIN}")
    sh(host, f"echo 'root:{PASSWORD}' | chpasswd; rm -f /etc/ssh/sshd_config.d/50-configurator.conf; "
             f"printf 'PermitRootLogin yes\\nPasswordAuthentication yes\\n' > {OUR_DROP_IN}; "
             "mv /root/.ssh/authorized_keys /root/.ssh/authorized_keys.first-contact; systemctl reload ssh")


def _restore(host: Any) -> None:
    """node49 as it was: root's key back, no password, no admin, no drop-in."""
    sh(host, "[ ! -e /root/.ssh/authorized_keys.first-contact ] || "
             "mv /root/.ssh/authorized_keys.first-contact /root/.ssh/authorized_keys; usermod -p '*' root; "
             f"rm -f {OUR_DROP_IN} /etc/ssh/sshd_config.d/50-configurator.conf /etc/sudoers.d/admin-{ADMIN}; "
             f"{FORGET_ADMIN}; systemctl reload ssh", check=False)


def _inventory(sandbox: Any, folder: Path, host_key: str) -> Path:
    """node49 reached as the admin with sudo; its host key known only from the inventory's fingerprint."""
    data = {
        "ssh": ssh_settings(sandbox, user=ADMIN, become=True, known_hosts=str(folder / "known_hosts")),
        "hosts": {"node49": {"address": sandbox.host("node49").address, "host_key": host_key}},
        "groups": {"fresh": {"hosts": ["node49"], "roles": ["base"], "vars": {
            "base_admins": [{"name": ADMIN, "keys": [Path(f"{sandbox.key_path}.pub").read_text().strip()]}]}}},
    }
    path = folder / "inventory.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _bootstrap(inventory: Path, folder: Path, name: str, *more: str) -> tuple[int, dict[str, Any]]:
    code, _ = configure("bootstrap", inventory, "--user", "root", "--password-file", folder / "pw",
                        "--json", folder / f"{name}.json", *more)
    report = folder / f"{name}.json"
    return code, json.loads(report.read_text())["hosts"][0] if report.exists() else {}


def _ssh_as_admin(sandbox: Any, folder: Path, address: str) -> subprocess.CompletedProcess[str]:
    """A real new SSH login with OpenSSH's client, by key only."""
    return subprocess.run(["ssh", "-i", str(sandbox.key_path), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                           "-o", f"UserKnownHostsFile={folder / 'known_hosts'}", "-o", "ConnectTimeout=5",
                           f"{ADMIN}@{address}", "id -un; sudo -n id -u"],
                          capture_output=True, text=True, timeout=30, check=False)


def test_bootstrap_by_password_then_apply_as_the_admin(sandbox, tmp_path, capsys):
    host = sandbox.host("node49")
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    fingerprint = sh(host, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub").split()[1]
    _password_only(host)
    try:
        wrong = _inventory(sandbox, tmp_path, "SHA256:" + "A" * 43)
        code, report = _bootstrap(wrong, tmp_path, "wrong-key")
        assert code == 3 and fingerprint in report["error"], report
        assert not (tmp_path / "known_hosts").exists()

        inventory = _inventory(sandbox, tmp_path, fingerprint)
        code, first = _bootstrap(inventory, tmp_path, "first")
        assert code == 0 and first["status"] == "changed" and first["key_login"], first
        assert f"user[{ADMIN}]" in first["changed"]
        assert fingerprint in (tmp_path / "known_hosts").read_text() or first["host_key"].endswith(fingerprint)
        assert PASSWORD not in capsys.readouterr().out + (tmp_path / "first.json").read_text()
        login = _ssh_as_admin(sandbox, tmp_path, host.address)
        assert login.returncode == 0 and login.stdout.split() == [ADMIN, "0"], login.stderr

        code, second = _bootstrap(inventory, tmp_path, "second")
        assert code == 0 and second["status"] == "ok" and second["changed"] == [], second
        # as a cloud user logs in: the host's user (now ops) by key, then sudo
        code, _ = configure("bootstrap", inventory, "--json", tmp_path / "by-key.json")
        by_key = json.loads((tmp_path / "by-key.json").read_text())["hosts"][0]
        assert code == 0 and by_key["changed"] == [] and by_key["key_login"], by_key

        code, off = _bootstrap(inventory, tmp_path, "off", "--disable-password-login")
        assert code == 0 and off["password_login_disabled"], off
        code, refused = _bootstrap(inventory, tmp_path, "refused")
        assert code == 3 and "authentication" in refused["error"], refused

        code, _ = configure("apply", inventory, report=tmp_path / "apply.json")
        assert code == 0, (tmp_path / "apply.json").read_text()
        code, data = configure("check", inventory, report=tmp_path / "check.json")
        assert code == 0 and data is not None and data["hosts"][0]["round_trips"] == 1, data
    finally:
        _restore(host)


@pytest.fixture
def late(sandbox, tmp_path):
    """node50 with a role of one file, and its inventory."""
    role = tmp_path / "roles" / "waited"
    role.mkdir(parents=True)
    (role / "role.yml").write_text("resources:\n  - file: {path: /root/waited, content: \"yes\\n\", mode: \"0644\"}\n")
    path = write_inventory(sandbox, tmp_path / "inventory.yml", {"late": {"hosts": ["node50"], "roles": ["waited"]}},
                           roles_path=[str(tmp_path / "roles")])
    host = sandbox.host("node50")
    sh(host, "rm -f /root/waited")
    yield host, path
    sh(host, "systemctl start ssh", check=False)


def test_wait_converges_a_host_whose_sshd_starts_late(late, tmp_path):
    host, path = late
    sh(host, "systemctl stop ssh")
    started = time.monotonic()
    code, data = configure("apply", path, report=tmp_path / "now.json")
    assert code == 3 and data is not None and data["hosts"][0]["status"] == "unreachable", data
    assert time.monotonic() - started < 5  # the connect timeout of the inventory
    assert sh(host, "[ -e /root/waited ] && echo there || echo missing").strip() == "missing"

    sh(host, f"systemd-run --on-active=10s {ON_TIME} systemctl start ssh")
    started = time.monotonic()
    code, data = configure("apply", path, "--wait", "30", report=tmp_path / "waited.json")
    took = time.monotonic() - started
    assert code == 0 and data is not None and data["hosts"][0]["status"] == "changed", data
    assert 8 < took < 30, took
    assert sh(host, "cat /root/waited") == "yes\n"

    code, data = configure("apply", path, "--wait", "30", report=tmp_path / "up.json")
    assert code == 0 and data is not None and data["hosts"][0]["round_trips"] == 1, data  # no extra round trip


FAKE_CLOUD_INIT = """#!/bin/sh
# cloud-init as a booting VM has it: `status --wait` returns once its work is done (the marker)
[ "$1 $2" = "status --wait" ] || exit 2
while [ ! -e /run/first-contact-cloud-init-done ]; do sleep 0.2; done
echo "status: done"
"""


def test_wait_lets_cloud_init_finish_before_the_first_change(late, tmp_path):
    host, path = late
    sh(host, f"cat > /usr/local/bin/cloud-init <<'EOF'\n{FAKE_CLOUD_INIT}EOF\nchmod 755 /usr/local/bin/cloud-init; "
             "rm -f /run/first-contact-cloud-init-done")
    try:
        code, data = configure("apply", path, "--wait", "3", report=tmp_path / "short.json")
        assert code == 1 and data is not None and "cloud-init still running" in data["hosts"][0]["error"], data
        assert sh(host, "[ -e /root/waited ] && echo there || echo missing").strip() == "missing"

        sh(host, f"systemd-run --on-active=4s {ON_TIME} touch /run/first-contact-cloud-init-done")
        started = time.monotonic()
        code, data = configure("apply", path, "--wait", "30", report=tmp_path / "long.json")
        assert code == 0 and data is not None and data["hosts"][0]["round_trips"] == 2, data  # probe + the change
        assert time.monotonic() - started > 3
        # the file was written after cloud-init was done, not before
        assert sh(host, "[ /root/waited -nt /run/first-contact-cloud-init-done ] && echo after").strip() == "after"
    finally:
        sh(host, "rm -f /usr/local/bin/cloud-init /run/first-contact-cloud-init-done", check=False)
