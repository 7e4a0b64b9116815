"""`configure run` on real hosts (node51, node52, node53): grouped output, exit codes, --json, --script,
bounded output, redaction, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from configurator.vault.cipher import encrypt
from configurator.vault.passphrase import ENV_VAR
from tests.integration.engine_helpers import configure, sh, write_inventory

pytestmark = pytest.mark.integration

HOSTS = ["node51", "node52", "node53"]
CLOSED = "node53_closed"  # node53's address on a port nothing listens on: unreachable in the same run
PASSPHRASE = "ad-hoc passphrase"
SECRET = "Adhoc-Secret-51c9e7"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def inventory(sandbox, tmp_path: Path, monkeypatch) -> Path:
    secrets = tmp_path / "secrets.vault"
    secrets.write_bytes(encrypt(yaml.safe_dump({"adhoc_token": SECRET}).encode(), PASSPHRASE))
    monkeypatch.setenv(ENV_VAR, PASSPHRASE)
    groups = {"real": {"hosts": list(HOSTS)}, "apps": {"hosts": list(HOSTS)}}
    path = write_inventory(sandbox, tmp_path / "inventory.yml", groups, vars_files=[str(secrets)])
    data = yaml.safe_load(path.read_text())
    data["hosts"][CLOSED] = {"address": sandbox.host("node53").address, "port": 2, "connect_timeout": 3}
    data["groups"]["apps"]["hosts"].append(CLOSED)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run(capsys, *argv: str | Path) -> tuple[int, str]:
    capsys.readouterr()
    code, _ = configure("run", *argv)
    return code, capsys.readouterr().out


def test_identical_output_is_grouped_and_an_unreachable_host_gives_3(inventory, capsys):
    code, out = run(capsys, inventory, "apps", "--", "systemctl", "is-active", "ssh")
    assert code == 3
    assert out.startswith("3 hosts: node51, node52, node53 | exit 0\n    active\n")
    assert f"\n{CLOSED} | unreachable | connect to 198.18.0." in out
    assert out.count("\n    active\n") == 1  # printed once for the three hosts
    assert "on 4 hosts: 3 ok, 0 failed, 1 unreachable" in out


def test_a_failing_command_on_one_host_gives_1(sandbox, inventory, capsys):
    for name in HOSTS:
        sh(sandbox.host(name), "rm -f /run/adhoc-marker" if name == "node52" else "touch /run/adhoc-marker")
    code, out = run(capsys, inventory, "real", "--", "test", "-e", "/run/adhoc-marker")
    assert code == 1
    assert out.startswith("2 hosts: node51, node53 | exit 0\nnode52 | exit 1\n")
    code, _ = run(capsys, inventory, "apps", "--", "test", "-e", "/run/adhoc-marker")
    assert code == 3  # unreachable wins over failed


def test_json_shape(sandbox, inventory, capsys):
    code, out = run(capsys, inventory, "real", "--json", "--", "cat", "/etc/hostname")
    assert code == 0
    data = json.loads(out)
    assert data["exit"] == 0 and data["command"] == "cat /etc/hostname"
    assert list(data["hosts"]) == HOSTS
    for name, entry in data["hosts"].items():
        assert entry["stdout"] == sh(sandbox.host(name), "cat /etc/hostname")
        assert (entry["state"], entry["status"], entry["stderr"], entry["error"]) == ("ok", 0, "", "")
        assert 0 < entry["seconds"] < 30


def test_script_runs_through_sh_on_stdin(sandbox, inventory, tmp_path, capsys):
    script = tmp_path / "touch.sh"
    script.write_text("set -e\nname=$(cat /etc/hostname)\n"
                      "echo \"it's $name\" > /run/adhoc-script\ncat /run/adhoc-script\n")
    code, out = run(capsys, inventory, "node51,node52", "--script", script)
    assert code == 0
    assert "node51 | exit 0\n    it's node51\n" in out and "node52 | exit 0\n    it's node52\n" in out
    assert sh(sandbox.host("node52"), "cat /run/adhoc-script") == "it's node52\n"


def test_a_vault_secret_is_redacted(sandbox, inventory, capsys):
    sh(sandbox.host("node51"), f"printf 'token=%s\\n' {SECRET} > /run/adhoc-secret")
    code, out = run(capsys, inventory, "node51", "--", "cat", "/run/adhoc-secret")
    assert code == 0
    assert "token=********" in out and SECRET not in out


def test_unknown_pattern_is_bad_input(inventory, capsys):
    code, _ = configure("run", inventory, "web*", "--", "true")
    assert code == 65
    assert "pattern 'web*' matches no host or group" in capsys.readouterr().err


def peak_rss_kib(inventory: Path, command: str) -> tuple[int, dict[str, object]]:
    """`configure run --json` in a new process; its peak RSS and its JSON output."""
    code = ("import resource, sys; from configurator.cli import commands; "
            "rc = commands.main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, "run", str(inventory), "node53", "--json", "--",
                           "sh", "-c", command], capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return int(done.stderr.strip().splitlines()[-1]), json.loads(done.stdout)


def test_20_mb_of_output_is_cut_in_bounded_memory(inventory):
    small, _ = peak_rss_kib(inventory, "echo x")
    large, data = peak_rss_kib(inventory, "head -c 20000000 /dev/zero | tr '\\0' x; echo; echo last")
    print(f"peak RSS: {small} KiB for 2 bytes of output, {large} KiB for 20 MB")
    assert large - small < 12 * 1024, f"peak RSS grew by {large - small} KiB for 20 MB of output"
    stdout = data["hosts"]["node53"]["stdout"]  # type: ignore[index]
    assert "bytes cut ...]" in stdout and stdout.rstrip().endswith("last")
    assert len(stdout) < 300_000  # the first 64 KiB, the note, the last 192 KiB


def interrupt(sandbox, inventory: Path, presses: int) -> tuple[int, str]:
    """`configure run --forks 1 real -- sleep 4` in a new process, Ctrl-C `presses` times once node51's sleep runs."""
    proc = subprocess.Popen(["/opt/configurator/venv/bin/python", "-m", "configurator.cli", "run", str(inventory),
                             "real", "--forks", "1", "--", "sleep", "4"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=ROOT, env={**os.environ})
    deadline = time.monotonic() + 30
    while not sh(sandbox.host("node51"), "pgrep -x sleep || true") and time.monotonic() < deadline:
        time.sleep(0.1)
    for _ in range(presses):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out


def test_ctrl_c_once_finishes_the_running_host_and_starts_no_other(sandbox, inventory):
    started = time.monotonic()
    code, out = interrupt(sandbox, inventory, 1)
    assert code == 130
    assert "node51 | exit 0" in out and "2 hosts: node52, node53 | not started" in out
    assert time.monotonic() - started >= 4  # node51's command ran to its end


def test_ctrl_c_twice_ends_the_running_command(sandbox, inventory):
    code, out = interrupt(sandbox, inventory, 2)
    assert code == 130
    assert "node51 | failed | interrupted: the running step was stopped on the host" in out
    assert sh(sandbox.host("node51"), "pgrep -x sleep || true") == ""


def test_through_a_bastion(sandbox, inventory, capsys):
    data = yaml.safe_load(inventory.read_text())
    bastion, target = sandbox.host("node51"), sandbox.host("node52")
    data["hosts"]["via51"] = {"address": target.address, "gateway": f"root@{bastion.address}"}
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out = run(capsys, inventory, "via51,node52", "--", "sh", "-c", 'echo "${SSH_CLIENT%% *}"')
    assert code == 0
    # the same host seen from two places: through node51, and straight from the bridge
    assert f"via51 | exit 0\n    {bastion.address}\n" in out
    assert f"node52 | exit 0\n    {target.address.rsplit('.', 1)[0]}.1\n" in out


SUDO_PASSWORD = "Ops-Sudo-Pass-91"


@pytest.fixture
def ops_user(sandbox, inventory, tmp_path):
    """A user `ops` on node52 whose sudo asks for a password; the inventory's host `ops52` logs in as ops."""
    host = sandbox.host("node52")
    sh(host, "id ops >/dev/null 2>&1 || useradd -m -s /bin/sh ops; "
             f"echo 'ops:{SUDO_PASSWORD}' | chpasswd; install -d -o ops -m 0700 /home/ops/.ssh; "
             "install -o ops -m 0600 /root/.ssh/authorized_keys /home/ops/.ssh/authorized_keys; "
             "echo 'ops ALL=(ALL:ALL) ALL' > /etc/sudoers.d/adhoc-ops; chmod 0440 /etc/sudoers.d/adhoc-ops")
    data = yaml.safe_load(inventory.read_text())
    data["hosts"]["ops52"] = {"address": host.address, "user": "ops"}
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    (tmp_path / "sudo.pw").write_text(SUDO_PASSWORD + "\n")
    yield tmp_path / "sudo.pw"
    sh(host, "rm -f /etc/sudoers.d/adhoc-ops; pkill -u ops || true; userdel -r ops 2>/dev/null || true")


def test_become(sandbox, inventory, ops_user, capsys):
    code, out = run(capsys, inventory, "ops52", "--", "id", "-un")
    assert (code, out.split("\n")[:2]) == (0, ["ops52 | exit 0", "    ops"])
    code, out = run(capsys, inventory, "ops52", "--become", "--", "id", "-un")
    assert code == 1 and "sudo needs a password for ops" in out
    code, out = run(capsys, inventory, "ops52", "--become", "--become-password-file", ops_user, "--",
                    "sh", "-c", f"id -un; echo {SUDO_PASSWORD}; touch /root/adhoc-become")
    assert (code, out.split("\n")[:3]) == (0, ["ops52 | exit 0", "    root", "    ********"])
    assert SUDO_PASSWORD not in out
    assert sh(sandbox.host("node52"), "stat -c %U /root/adhoc-become; rm /root/adhoc-become") == "root\n"
