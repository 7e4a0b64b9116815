"""SSH paths on real hosts: a bastion (ProxyJump), an ssh config file, sudo with a password."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from configurator.connections import ssh as transport
from configurator.model.inventory import load
from tests.integration.engine_helpers import sh
from tests.integration.faults_helpers import inventory, netns_nft
from tests.integration.test_security import CmdlineSampler, run_cli

pytestmark = pytest.mark.integration
TABLE = "cfgtest_sshpaths"
DATA = "/srv/faults/sshpaths.txt"


@pytest.fixture
def pair(sandbox):
    """node11 (the bastion, and the sudo target) and node12 (behind it), with the test's file removed."""
    bastion, target = sandbox.hosts[10], sandbox.hosts[11]
    for host in (bastion, target):
        sh(host, f"rm -f {DATA}")
    yield bastion, target
    for host in (bastion, target):
        sh(host, f"rm -f {DATA}")


@contextlib.contextmanager
def only_through(target, bastion) -> Iterator[None]:
    """Drop SSH to `target` unless it comes from `bastion` (a rule in the target's own network namespace)."""
    netns_nft(target, "add", "table", "inet", TABLE)
    try:
        netns_nft(target, "add", "chain", "inet", TABLE, "input", "{ type filter hook input priority 0 ; }")
        netns_nft(target, "add", "rule", "inet", TABLE, "input", "ip", "saddr", "!=", bastion.address,
                  "tcp", "dport", "22", "drop")
        yield
    finally:
        netns_nft(target, "delete", "table", "inet", TABLE)


def apply(path: Path, report: Path, *extra: str | Path, env: dict[str, str] | None = None):
    done = run_cli("apply", path, "--var", f"data_path={DATA}", "--json", report, *extra, env=env)
    data = json.loads(report.read_text()) if report.exists() else None
    return done, data


def test_a_host_reachable_only_through_a_bastion_converges_through_it(sandbox, pair, tmp_path):
    bastion, target = pair
    path = inventory(sandbox, tmp_path / "inv.yml",
                     {target.name: {"address": target.address, "gateway": f"root@{bastion.address}"}})
    direct = inventory(sandbox, tmp_path / "direct.yml", {target.name: {"address": target.address}})
    with only_through(target, bastion):
        blocked, _ = apply(direct, tmp_path / "direct.json")
        first, one = apply(path, tmp_path / "first.json", "--var", "payload=through-the-bastion")
        second, two = apply(path, tmp_path / "second.json", "--var", "payload=through-the-bastion")
    assert blocked.returncode == 3 and "timed out" in blocked.stdout  # the rule really blocks direct SSH
    assert first.returncode == 0, first.stdout + first.stderr
    assert one["hosts"][0]["status"] == "changed"
    assert sh(target, f"cat {DATA}") == "through-the-bastion\n"
    assert sh(bastion, f"test -e {DATA} || echo absent") == "absent\n"  # written on the target, not the bastion
    assert second.returncode == 0, second.stdout + second.stderr
    assert (two["hosts"][0]["status"], two["hosts"][0]["round_trips"]) == ("ok", 1)


def test_the_session_through_a_bastion_has_tcp_nodelay_and_closes_both_connections(sandbox, pair, tmp_path):
    bastion, target = pair
    path = inventory(sandbox, tmp_path / "inv.yml",
                     {target.name: {"address": target.address, "gateway": f"root@{bastion.address}"}})
    session = transport.connect(load(path).hosts[target.name])
    try:
        assert session.nodelay is True  # on the socket to the bastion, the only TCP socket of the run
        assert session.run("hostname").stdout == f"{target.name}\n"
        assert len(session.jumps) == 1 and is_connected(session.jumps[0])
    finally:
        session.close()
    assert not is_connected(session.jumps[0]) and not is_connected(session.client)


def is_connected(client) -> bool:
    found = client.get_transport()
    return found is not None and found.is_active()


def test_a_bastion_with_an_unknown_host_key_is_refused(sandbox, pair, tmp_path):
    bastion, target = pair
    known = tmp_path / "known_hosts"
    known.write_text("".join(line + "\n" for line in Path(sandbox.known_hosts).read_text().splitlines()
                             if line.startswith(f"{target.name},")))  # the target's key only
    path = inventory(sandbox, tmp_path / "inv.yml",
                     {target.name: {"address": target.address, "gateway": f"root@{bastion.address}"}},
                     known_hosts=str(known))
    done, data = apply(path, tmp_path / "r.json")
    assert done.returncode == 3, done.stdout + done.stderr
    error = data["hosts"][0]["error"]
    assert f"bastion root@{bastion.address}:22" in error and "unknown host key" in error, error
    assert f"bastion root@{bastion.address}:22" in done.stdout
    assert known.read_text().count("\n") == 1  # nothing was accepted
    assert sh(target, f"test -e {DATA} || echo absent") == "absent\n"


def test_a_gateway_command_still_works_as_a_proxy_command(sandbox, pair, tmp_path):
    bastion, target = pair
    command = (f"ssh -i {sandbox.key_path} -o UserKnownHostsFile={sandbox.known_hosts} -o StrictHostKeyChecking=yes "
               f"-o BatchMode=yes -W %h:%p root@{bastion.address}")
    path = inventory(sandbox, tmp_path / "inv.yml", {target.name: {"address": target.address, "gateway": command}})
    with only_through(target, bastion):
        done, data = apply(path, tmp_path / "r.json", "--var", "payload=by-proxy-command")
    assert done.returncode == 0, done.stdout + done.stderr
    assert sh(target, f"cat {DATA}") == "by-proxy-command\n"


def test_ssh_config_supplies_what_the_inventory_leaves_out(sandbox, pair, tmp_path):
    bastion, target = pair
    config = tmp_path / "ssh_config"
    config.write_text(f"""Host sshpaths-target
    HostName {target.address}
    IdentityFile {sandbox.key_path}
    ProxyJump jumpbox
Host jumpbox
    HostName {bastion.address}
    User root
    Port 22
Host *
    User nosuchuser
    Port 2222
""")
    data = {"ssh": {"user": "root", "port": 22, "known_hosts": str(sandbox.known_hosts), "connect_timeout": 5},
            "roles_path": [str(Path(__file__).parent / "roles")], "hosts": {"sshpaths-target": None},
            "groups": {"faults": {"hosts": ["sshpaths-target"], "roles": ["faults_demo"]}}}
    path = tmp_path / "inv.yml"
    path.write_text(yaml.safe_dump(data))  # no address, identity nor gateway: they come from the ssh config
    with only_through(target, bastion):
        done, report = apply(path, tmp_path / "r.json", "--var", "payload=from-ssh-config",
                             env={"CONFIGURE_SSH_CONFIG": str(config)})
    assert done.returncode == 0, done.stdout + done.stderr  # user and port: the inventory's, not `Host *`'s
    assert sh(target, f"cat {DATA}") == "from-ssh-config\n"


# sudo with a password ---------------------------------------------------------------------------------------

SUDOERS = "/etc/sudoers.d/cfgtest-opsuser"


@pytest.fixture
def opsuser(sandbox, pair):
    """node11 with `opsuser`: a password, the sandbox key, and sudo rights that need the password."""
    host = pair[0]
    password = "Pw-" + secrets.token_hex(10)
    public = Path(f"{sandbox.key_path}.pub").read_text().strip()
    sh(host, f"""set -e
userdel -r opsuser 2>/dev/null || true
useradd -m -s /bin/sh opsuser
printf '%s\\n' 'opsuser:{password}' | chpasswd
install -d -m 700 -o opsuser -g opsuser ~opsuser/.ssh
printf '%s\\n' '{public}' > ~opsuser/.ssh/authorized_keys
chown opsuser:opsuser ~opsuser/.ssh/authorized_keys && chmod 600 ~opsuser/.ssh/authorized_keys
printf '%s\\n' 'opsuser ALL=(ALL) ALL' > {SUDOERS} && chmod 440 {SUDOERS} && visudo -cf {SUDOERS}
rm -rf /srv/faults""")
    try:
        yield host, password
    finally:
        sh(host, f"rm -f {SUDOERS}; pkill -KILL -u opsuser || true; userdel -r opsuser 2>/dev/null || true; "
                 "rm -rf /srv/faults")


def test_sudo_with_a_password_file(sandbox, opsuser, tmp_path):
    host, password = opsuser
    path = inventory(sandbox, tmp_path / "inv.yml", {host.name: {"address": host.address}},
                     user="opsuser", become=True)
    good, wrong = tmp_path / "good", tmp_path / "wrong"
    good.write_text(password + "\n")
    wrong.write_text("Wrong-" + secrets.token_hex(6) + "\n")
    runs = []
    with CmdlineSampler(host) as sampler:
        started = time.monotonic()
        runs.append(apply(path, tmp_path / "none.json"))
        runs.append(apply(path, tmp_path / "wrong.json", "--become-password-file", wrong))
        wrong_seconds = time.monotonic() - started
        runs.append(apply(path, tmp_path / "good.json", "--become-password-file", good, "--diff", "-vv"))
        runs.append(apply(path, tmp_path / "again.json", "--become-password-file", good))
    (none, none_report), (refused, refused_report), (first, _), (again, again_report) = runs
    assert none.returncode == 1, none.stdout + none.stderr
    assert "password is required" in none_report["hosts"][0]["error"]
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "sudo refused the password" in refused_report["hosts"][0]["error"]
    assert wrong_seconds < 20  # no hang: sudo -n fails at once, a wrong password after sudo's own delay
    assert first.returncode == 0, first.stdout + first.stderr
    assert sh(host, f"stat -c '%U %G' /srv/faults {DATA}") == "root root\nroot root\n"
    assert sh(host, f"cat {DATA}") == "v1\n"
    assert again.returncode == 0 and again_report["hosts"][0]["status"] == "ok"
    texts = [done.stdout + done.stderr for done, _ in runs] + [p.read_text() for p in tmp_path.glob("*.json")]
    assert [t for t in texts if password in t] == []
    assert sampler.seen and [line for line in sampler.seen if password in line] == []


def test_a_missing_password_file_is_bad_input(sandbox, pair, tmp_path):
    host = pair[0]
    path = inventory(sandbox, tmp_path / "inv.yml", {host.name: {"address": host.address}},
                     user="opsuser", become=True)
    done = run_cli("apply", path, "--become-password-file", tmp_path / "missing")
    assert done.returncode == 65, done.stdout + done.stderr
    assert "become password file" in done.stderr and "No such file" in done.stderr
