"""The built-in role `base` on real hosts of each release it supports: converge, real state, refusals,
no lockout (bookworm on node11 and node12, trixie on node45, bullseye on node29)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from configurator.sandbox import Sandbox, SandboxHost, up
from tests.integration.engine_helpers import changed_steps, configure, etc_checksum, sh, write_inventory

pytestmark = pytest.mark.integration

DROP_IN = "/etc/ssh/sshd_config.d/50-configurator.conf"
MARKER = "configurator base: inventory hosts"
# release -> (host of the full run, host of the refusals, a host only in the /etc/hosts block)
PLACES = {"bookworm": ("node11", "node12", "node12"), "trixie": ("node45", "node45", "node30"),
          "bullseye": ("node29", "node29", "node30")}


def reset(name: str) -> str:
    """sh that puts a host back to what the sandbox booted, so every run of the module starts alike."""
    return f"""
for u in alice bob carol; do userdel -r $u 2>/dev/null; done
rm -f /etc/sudoers.d/admin-* {DROP_IN} /etc/ssh/sshd_config.d/10-early.conf /etc/sysctl.d/60-configurator-*
rm -f /etc/apt/apt.conf.d/20auto-upgrades /var/lib/configurator/handlers.pending
systemctl reload ssh
ln -sfn /usr/share/zoneinfo/Etc/UTC /etc/localtime && echo Etc/UTC > /etc/timezone
hostname {name} && echo {name} > /etc/hostname
sed -i '/^# BEGIN {MARKER}$/,/^# END {MARKER}$/d' /etc/hosts
sysctl -qw net.ipv4.tcp_fin_timeout=60
DEBIAN_FRONTEND=noninteractive apt-get -qq -y purge unattended-upgrades tree >/dev/null
ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get -qq update
DEBIAN_FRONTEND=noninteractive apt-get -qq -y install nano >/dev/null
"""


def new_key(path: Path) -> str:
    """Write a new ed25519 private key (OpenSSH format, 0600) to `path`; return the public key line."""
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{public.decode()} {path.stem}@test"


def ssh_client(host: SandboxHost, user: str, key: Path, known_hosts: Path) -> paramiko.SSHClient:
    """A strict (known_hosts) SSH connection to `host` as `user` with the key only."""
    for attempt in range(50):
        client = paramiko.SSHClient()
        client.load_host_keys(str(known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(host.address, username=user, key_filename=str(key), look_for_keys=False,
                           allow_agent=False, timeout=10, banner_timeout=10, auth_timeout=10)
            return client
        except paramiko.ssh_exception.NoValidConnectionsError:
            # sshd re-executes itself on reload: its listener is briefly closed, so retry a refused connect
            if attempt == 49:
                raise
            time.sleep(0.1)
    raise AssertionError("unreachable")


def run(client: paramiko.SSHClient, command: str) -> tuple[int, str]:
    """Run a command over an open connection: (exit status, stdout)."""
    _, out, _ = client.exec_command(command, timeout=30)
    text = out.read().decode()
    return out.channel.recv_exit_status(), text


def password_methods(host: SandboxHost, user: str, password: str) -> tuple[list[str], bool]:
    """(auth methods the server offers `user`, whether a login with `password` worked)."""
    sock = socket.create_connection((host.address, 22), timeout=10)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=10)
        try:
            transport.auth_none(user)
            offered: list[str] = []
        except paramiko.BadAuthenticationType as exc:
            offered = list(exc.allowed_types)
        try:
            transport.auth_password(user, password)
            return offered, True
        except paramiko.AuthenticationException:
            return offered, False
    finally:
        transport.close()


@pytest.fixture(scope="module", params=sorted(PLACES))
def place(request: pytest.FixtureRequest, sandbox: Sandbox) -> tuple[str, str, str]:
    """The hosts of one release: (full run, refusals, /etc/hosts neighbour)."""
    names: tuple[str, str, str] = PLACES[request.param]
    assert {sandbox.host(n).release for n in names[:2]} == {request.param}
    return names


@pytest.fixture(scope="module")
def box(sandbox: Sandbox) -> Sandbox:
    """The sandbox with node11 and node12 up (the session fixture may boot fewer hosts)."""
    if {"node11", "node12"} <= {h.name for h in sandbox.hosts}:
        return sandbox
    return up(hosts=12)


def node(box: Sandbox, name: str) -> SandboxHost:
    return next(h for h in box.hosts if h.name == name)


def ssh_settings(box: Sandbox, **extra: Any) -> dict[str, Any]:
    """Root with the sandbox key; runs of other tests on the same host are waited for, not failed."""
    return {"user": "root", "identity": str(box.key_path), "known_hosts": str(box.known_hosts),
            "connect_timeout": 5, "lock_wait": 300, **extra}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Fresh SSH keys for the admins: name -> (private key path, public key line)."""
    folder = tmp_path_factory.mktemp("base-keys")
    return {name: (folder / name, new_key(folder / name)) for name in ("alice", "carol")}


def base_vars(keys: dict[str, Any]) -> dict[str, Any]:
    """The role variables of the full run: every part of the role switched on."""
    return {
        "base_packages": ["tree"],
        "base_packages_absent": ["nano"],
        "base_admins": [{"name": "alice", "keys": [keys["alice"][1]]},
                        {"name": "bob", "sudo": False, "shell": "/bin/sh"}],
        "base_sysctl": {"net.ipv4.tcp_fin_timeout": 25},
        "base_timezone": "Europe/Paris",
        "base_etc_hosts_extra": {"10.9.9.9": ["db.example", "db"]},
        "base_sshd_options": {"MaxAuthTries": 4},
        "base_unattended_upgrades": True,
    }


@pytest.fixture(scope="module")
def full(box: Sandbox, place: tuple[str, str, str], keys: dict[str, Any],
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The host reset, then the role applied once with everything on; an SSH session open across the run."""
    name, _, neighbour = place
    host = node(box, name)
    sh(host, reset(name))
    path = tmp_path_factory.mktemp(f"base-{name}") / "inventory.yml"
    # the neighbour is in the inventory for the /etc/hosts block only: every run is limited to the host
    write_inventory(box, path, {"base": {"hosts": [name], "roles": ["base"], "vars": base_vars(keys)}},
                    hosts={name: {"vars": {"base_hostname": f"{name}-base"}}, neighbour: {}},
                    ssh=ssh_settings(box))
    before = sh(host, "systemctl show -p MainPID --value ssh").strip()
    session = ssh_client(host, "root", box.key_path, box.known_hosts)
    code, data = configure("apply", path, "--limit", name, report=path.with_name("first.json"))
    yield {"host": host, "name": name, "neighbour": node(box, neighbour), "path": path, "code": code, "data": data,
           "session": session, "ssh_pid": before}
    session.close()
    sh(host, f"hostname {name} && echo {name} > /etc/hostname")


def test_first_apply_converges(full):
    assert full["code"] == 0, full["data"]
    (entry,) = [h for h in full["data"]["hosts"] if h["host"] == full["name"]]
    assert entry["status"] == "changed" and entry["handlers"] == ["reload sshd"]
    changed = changed_steps(full["data"])[full["name"]]
    for resource in (f"file[{DROP_IN}]", "package[tree]", "package[nano]", "user[alice]",
                     "file[/etc/sudoers.d/admin-alice]", f"command[hostname {full['name']}-base]",
                     f"block[/etc/hosts: {MARKER}]", "link[/etc/localtime]", "sysctl[net.ipv4.tcp_fin_timeout]",
                     "package[unattended-upgrades]"):
        assert resource in changed, f"{resource} did not change: {changed}"


def test_admin_sudo_rule_is_live(full):
    host = full["host"]
    assert "(ALL : ALL) NOPASSWD: ALL" in sh(host, "sudo -l -U alice")
    assert "not allowed to run sudo" in sh(host, "sudo -l -U bob")
    assert sh(host, "stat -c '%a %U %G' /etc/sudoers.d/admin-alice").split() == ["440", "root", "root"]
    assert sh(host, "test -e /etc/sudoers.d/admin-bob || echo none").strip() == "none"
    assert sh(host, "getent passwd bob").strip().endswith(":/bin/sh")


def test_sshd_is_hardened_by_the_drop_in(full):
    effective = sh(full["host"], "sshd -T").splitlines()
    for line in ("passwordauthentication no", "kbdinteractiveauthentication no",
                 "permitrootlogin without-password", "maxauthtries 4"):
        assert line in effective


def test_admin_logs_in_with_the_key_and_not_with_a_password(full, keys, box):
    host = full["host"]
    client = ssh_client(host, "alice", keys["alice"][0], box.known_hosts)
    try:
        assert run(client, "id -un") == (0, "alice\n")
        assert run(client, "sudo -n id -u") == (0, "0\n")
    finally:
        client.close()
    # a real password, so that the refusal cannot come from a wrong one
    sh(host, "echo 'alice:Corr3ct-horse' | chpasswd")
    try:
        offered, logged_in = password_methods(host, "alice", "Corr3ct-horse")
    finally:
        sh(host, "usermod -p '!' alice")
    assert offered == ["publickey"] and not logged_in


def test_reload_keeps_sessions_and_the_daemon(full):
    host = full["host"]
    assert sh(host, "systemctl show -p MainPID --value ssh").strip() == full["ssh_pid"]
    assert run(full["session"], "echo still here") == (0, "still here\n")


def test_time_zone_host_name_hosts_sysctl_upgrades(full):
    host, name, neighbour = full["host"], full["name"], full["neighbour"]
    assert sh(host, "readlink /etc/localtime").strip() == "/usr/share/zoneinfo/Europe/Paris"
    assert sh(host, "cat /etc/timezone") == "Europe/Paris\n"
    assert sh(host, "date +%Z").strip() in ("CET", "CEST")
    assert sh(host, "hostname").strip() == f"{name}-base"
    assert sh(host, "cat /etc/hostname") == f"{name}-base\n"
    hosts = sh(host, "cat /etc/hosts")
    block = sorted([f"{host.address}\t{name}-base {name}\n", f"{neighbour.address}\t{neighbour.name}\n"],
                   key=lambda line: line.split("\t")[1].split()[-1])  # in the order of the inventory names
    assert (f"# BEGIN {MARKER}\n{''.join(block)}"
            f"10.9.9.9\tdb.example db\n# END {MARKER}\n") in hosts
    assert "127.0.0.1\tlocalhost" in hosts  # the rest of the file is kept
    assert sh(host, f"getent hosts {name}-base").split() == [host.address, f"{name}-base", name]
    assert sh(host, "cat /proc/sys/net/ipv4/tcp_fin_timeout").strip() == "25"
    persisted = sh(host, "cat /etc/sysctl.d/60-configurator-net.ipv4.tcp_fin_timeout.conf")
    assert persisted == "net.ipv4.tcp_fin_timeout = 25\n"
    dump = sh(host, "apt-config dump")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in dump and 'APT::Periodic::Update-Package-Lists "1";' in dump
    installed = sh(host, "dpkg-query -W -f='${Package} ${Status}\\n' tree unattended-upgrades nano 2>/dev/null; true")
    assert "tree install ok installed" in installed and "unattended-upgrades install ok installed" in installed
    assert "nano install ok installed" not in installed


def test_second_apply_changes_nothing(full, tmp_path):
    code, data = configure("apply", full["path"], "--limit", full["name"], "--detailed-exitcode",
                           report=tmp_path / "second.json")
    assert code == 0, data
    assert changed_steps(data) == {full["name"]: []}
    (entry,) = [h for h in data["hosts"] if h["host"] == full["name"]]
    assert entry["status"] == "ok" and entry["round_trips"] == 1 and not entry["handlers"]


def test_role_tests_pass(full, tmp_path):
    code, data = configure("verify", full["path"], "--limit", full["name"], report=tmp_path / "verify.json")
    assert code == 0, data
    assert "base/tests/test_base.py::test_admin_sudo_rules" in str(data)


@pytest.fixture(scope="module")
def strict(box: Sandbox, place: tuple[str, str, str], keys: dict[str, Any],
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The host reset, with carol (key, sudo) applied once; `inventory(name, admins, **ssh)` writes variants."""
    target = place[1]
    host = node(box, target)
    sh(host, reset(target))
    folder = tmp_path_factory.mktemp(f"base-{target}")
    carol = {"name": "carol", "keys": [keys["carol"][1]]}

    def inventory(name: str, admins: list[dict[str, Any]] | None = None, **ssh: Any) -> Path:
        group = {"hosts": [target], "roles": ["base"],
                 "vars": {"base_admins": admins or [carol], "base_unattended_upgrades": False}}
        return write_inventory(box, folder / name, {"base": group}, ssh=ssh_settings(box, **ssh))

    path = inventory("inventory.yml")
    code, data = configure("apply", path, report=folder / "first.json")
    assert code == 0, data
    return {"host": host, "name": target, "path": path, "inventory": inventory, "carol": carol, "folder": folder}


def host_entry(data: dict[str, Any] | None, name: str) -> dict[str, Any]:
    assert data is not None
    return next(h for h in data["hosts"] if h["host"] == name)


def test_broken_sudoers_rule_is_refused_and_the_live_file_kept(strict, tmp_path):
    host = strict["host"]
    before = sh(host, "sha256sum /etc/sudoers.d/admin-carol")
    broken = {**strict["carol"], "sudo_rule": "ALL=(ALL:ALL) NOPASSWD ALL"}  # the colon after NOPASSWD is missing
    path = strict["inventory"]("broken-sudo.yml", [broken])
    code, data = configure("apply", path, report=tmp_path / "broken.json")
    assert code == 1, data
    entry = host_entry(data, strict["name"])
    assert entry["status"] == "failed"
    # the file, visudo's own message on the temp file, and that nothing was installed
    for part in ("file[/etc/sudoers.d/admin-carol]", "/etc/sudoers.d/.admin-carol.cfg-", "syntax error",
                 "NOPASSWD ALL", "validation refused the new content"):
        assert part in entry["error"]
    assert sh(host, "sha256sum /etc/sudoers.d/admin-carol") == before
    assert sh(host, "ls -A /etc/sudoers.d") == "README\nadmin-carol\n"  # no temp file left behind
    assert "(ALL : ALL) NOPASSWD: ALL" in sh(host, "sudo -l -U carol")


def test_invalid_sshd_value_is_refused_by_sshd_reading_the_new_file(strict, tmp_path):
    host = strict["host"]
    before = sh(host, f"sha256sum {DROP_IN}")
    code, data = configure("apply", strict["path"], "--var", "base_sshd_options={MaxAuthTries: lots}",
                           report=tmp_path / "bad-value.json")
    assert code == 1, data
    error = host_entry(data, strict["name"])["error"]
    # sshd names the temp file: it really parsed the new content, not the live configuration
    assert f"file[{DROP_IN}]" in error and ".50-configurator.conf.cfg-" in error and "integer value invalid" in error
    # OpenSSH 8.4 (bullseye) names the file and line only, later versions the keyword too
    assert "MaxAuthTries" in error or strict["host"].release == "bullseye"
    assert sh(host, f"sha256sum {DROP_IN}") == before


def test_root_login_off_while_connecting_as_root_fails_before_any_change(strict, tmp_path):
    host = strict["host"]
    before = etc_checksum(host)
    code, data = configure("apply", strict["path"], "--var", "base_sshd_permit_root_login=no",
                           "--var", "base_timezone=Asia/Tokyo", "--var", "base_packages=[tree]",
                           report=tmp_path / "lockout.json")
    assert code == 1, data
    entry = host_entry(data, strict["name"])
    assert "refusing: PermitRootLogin no would lock out root, the user this run connects as" in entry["error"]
    statuses = {s["resource"]: s["status"] for s in entry["steps"]}
    assert statuses[f"file[{DROP_IN}]"] == "failed"
    assert statuses["link[/etc/localtime]"] == statuses["package[tree]"] == "skipped"
    assert etc_checksum(host) == before
    assert "permitrootlogin without-password" in sh(host, "sshd -T")


def test_an_earlier_drop_in_that_would_win_is_refused(strict, tmp_path):
    host = strict["host"]
    sh(host, "printf 'PasswordAuthentication yes\\n' > /etc/ssh/sshd_config.d/10-early.conf")
    try:
        code, data = configure("apply", strict["path"], "--var", "base_sshd_options={MaxAuthTries: 5}",
                               report=tmp_path / "shadowed.json")
    finally:
        sh(host, "rm -f /etc/ssh/sshd_config.d/10-early.conf")
    assert code == 1, data
    assert "passwordauthentication: an earlier file wins" in host_entry(data, strict["name"])["error"]


def test_an_admin_with_become_may_turn_root_login_off(strict, keys, box, tmp_path):
    host = strict["host"]
    as_carol = strict["inventory"]("as-carol.yml", user="carol", identity=str(keys["carol"][0]), become=True)
    try:
        code, data = configure("apply", as_carol, "--var", "base_sshd_permit_root_login=no",
                               report=tmp_path / "root-off.json")
        assert code == 0, data
        assert "permitrootlogin no" in sh(host, "sshd -T")
        with pytest.raises(paramiko.AuthenticationException):
            ssh_client(host, "root", box.key_path, box.known_hosts)
        client = ssh_client(host, "carol", keys["carol"][0], box.known_hosts)
        assert run(client, "sudo -n id -un") == (0, "root\n")
        client.close()
        code, data = configure("apply", as_carol, report=tmp_path / "root-on.json")
        assert code == 0, data
    finally:
        if "permitrootlogin no" in sh(host, "sshd -T"):  # never leave the sandbox's root login off
            sh(host, f"rm -f {DROP_IN} && systemctl reload ssh")
    ssh_client(host, "root", box.key_path, box.known_hosts).close()
