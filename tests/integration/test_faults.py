"""Faults on real hosts: killed connections, unreachable hosts, locks, timeouts, Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.integration.engine_helpers import configure, sh
from tests.integration.faults_helpers import (
    address_of,
    background,
    host_cmdlines,
    inventory,
    kill_sessions,
    netns_nft,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def hosts(sandbox):
    """node11 (stays healthy) and node12 (gets the faults), with /srv/faults reset."""
    ok, bad = sandbox.hosts[10], sandbox.hosts[11]
    for host in (ok, bad):
        sh(host, "rm -rf /srv/faults; rm -f /var/lib/configurator/handlers.pending")
    return ok, bad


def in_thread(*argv, report=None) -> tuple[threading.Thread, dict]:
    """Run `configure ARGV` in a thread; the result dict gets code and data."""
    found: dict = {}

    def run() -> None:
        found["code"], found["data"] = configure(*argv, report=report)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, found


def running(host, text: str) -> bool:
    return any(text in line for line in host_cmdlines(host))


def test_connection_killed_mid_apply_fails_the_host_and_next_run_converges(sandbox, hosts, tmp_path):
    ok, bad = hosts
    path = inventory(sandbox, tmp_path / "inv.yml", {bad.name: address_of(sandbox, bad.name)})
    assert configure("apply", path)[0] == 0
    thread, found = in_thread("apply", path, "--var", "payload=v2", "--var", "slow_seconds=6",
                              report=tmp_path / "killed.json")
    wait_for(lambda: running(bad, "sleep 6"))
    assert kill_sessions(bad) >= 1
    thread.join(60)
    assert not thread.is_alive()
    assert found["code"] in (1, 3)
    entry = found["data"]["hosts"][0]
    assert entry["status"] in ("failed", "unreachable") and entry["error"]
    assert sh(bad, "cat /srv/faults/data.txt") in ("v1\n", "v2\n")  # old or new, never truncated
    # the step that was running goes on to its end on the host and holds the lock until then;
    # the next run waits for it (lock_wait) and converges
    path = inventory(sandbox, tmp_path / "inv.yml", {bad.name: address_of(sandbox, bad.name)}, lock_wait=30)
    code, data = configure("apply", path, "--var", "payload=v2", report=tmp_path / "again.json")
    assert code == 0, data
    assert sh(bad, "cat /srv/faults/data.txt") == "v2\n"


def test_connection_killed_mid_upload_leaves_old_content(sandbox, hosts, tmp_path):
    ok, bad = hosts
    path = inventory(sandbox, tmp_path / "inv.yml", {bad.name: address_of(sandbox, bad.name)})
    assert configure("apply", path)[0] == 0
    big = "x" * (8 * 1024 * 1024)  # under the 10 MiB bound on any one input
    thread, found = in_thread("apply", path, "--var", f"payload={big}")
    wait_for(lambda: running(bad, "timeout -k 5 300 sh -c cat") or host_cmdlines(bad).count("sh ") >= 1)
    time.sleep(0.5)  # the probe is done; the 16 MiB upload is streaming now
    assert kill_sessions(bad) >= 1
    thread.join(120)
    assert found["code"] in (1, 3)
    assert sh(bad, "cat /srv/faults/data.txt") in ("v1\n", big + "\n")
    assert configure("apply", path)[0] == 0
    assert sh(bad, "cat /srv/faults/data.txt") == "v1\n"
    assert sh(bad, "ls -A /srv/faults") == "data.txt\n"  # no temp file left behind after the next run


def test_unreachable_hosts_are_reported_apart_and_others_finish(sandbox, hosts, tmp_path):
    ok, bad = hosts
    netns_nft(bad, "add", "table", "inet", "cfgtest")
    netns_nft(bad, "add", "chain", "inet", "cfgtest", "input", "{ type filter hook input priority 0 ; }")
    netns_nft(bad, "add", "rule", "inet", "cfgtest", "input", "tcp", "dport", "22", "drop")
    try:
        path = inventory(sandbox, tmp_path / "inv.yml", {
            ok.name: address_of(sandbox, ok.name),
            bad.name: address_of(sandbox, bad.name),
            "refused": {**address_of(sandbox, ok.name), "port": 2222},
        })
        started = time.monotonic()
        code, data = configure("apply", path, report=tmp_path / "r.json")
        elapsed = time.monotonic() - started
    finally:
        netns_nft(bad, "delete", "table", "inet", "cfgtest")
    statuses = {h["host"]: (h["status"], h["error"]) for h in data["hosts"]}
    assert code == 3
    assert statuses[ok.name][0] == "changed"
    assert statuses[bad.name][0] == "unreachable" and "timed out" in statuses[bad.name][1]
    assert statuses["refused"][0] == "unreachable" and "refused" in statuses["refused"][1].lower()
    assert elapsed < 3 * 4  # bounded by the 3 s connect timeout, not by a TCP default of minutes
    assert sh(ok, "cat /srv/faults/data.txt") == "v1\n"


def test_second_run_on_a_locked_host_is_refused_clearly(sandbox, hosts, tmp_path):
    ok, bad = hosts
    path = inventory(sandbox, tmp_path / "inv.yml", {bad.name: address_of(sandbox, bad.name)}, lock_wait=1)
    sh(bad, "mkdir -p /var/lib/configurator")
    holder = background(bad, ["flock", "/var/lib/configurator/lock", "sleep", "20"])
    try:
        wait_for(lambda: sh(bad, "flock -n /var/lib/configurator/lock true || echo held", check=False) == "held\n")
        code, data = configure("apply", path, report=tmp_path / "locked.json")
        assert code == 1
        assert "lock" in data["hosts"][0]["error"]
        assert sh(bad, "test -e /srv/faults/data.txt || echo absent") == "absent\n"  # nothing was written
    finally:
        holder.stop()
    assert configure("apply", path)[0] == 0


def test_dpkg_lock_held_by_another_process_is_waited_for(sandbox, hosts, tmp_path):
    ok, bad = hosts
    sh(bad, "DEBIAN_FRONTEND=noninteractive apt-get -y -q purge bc >/dev/null 2>&1 || true")
    path = inventory(sandbox, tmp_path / "inv.yml", {bad.name: address_of(sandbox, bad.name)})
    holder = background(bad, ["python3", "-c", "import fcntl, time; f = open('/var/lib/dpkg/lock-frontend', 'w'); "
                              "fcntl.lockf(f, fcntl.LOCK_EX); open('/tmp/dpkg-held', 'w').close(); time.sleep(6)"])
    try:
        wait_for(lambda: sh(bad, "test -e /tmp/dpkg-held && echo y", check=False) == "y\n")
        code, data = configure("apply", path, "--var", "packages=[bc]", report=tmp_path / "dpkg.json")
        assert not holder.running()  # the install could only finish after the lock was released
    finally:
        holder.stop()
        sh(bad, "rm -f /tmp/dpkg-held")
    assert code == 0, data
    assert "install ok installed" in sh(bad, "dpkg-query -W -f='${Status}' bc")


def test_command_timeout_ends_the_remote_process(sandbox, hosts, tmp_path):
    ok, bad = hosts
    path = inventory(sandbox, tmp_path / "inv.yml", {bad.name: address_of(sandbox, bad.name)})
    code, data = configure("apply", path, "--var", "slow_seconds=300", "--var", "cmd_timeout=2",
                           report=tmp_path / "timeout.json")
    assert code == 1
    assert "exit 124" in data["hosts"][0]["error"]
    assert not running(bad, "sleep 300")


def test_ctrl_c_finishes_the_current_step_reports_and_leaves_no_lock(sandbox, hosts, tmp_path):
    ok, bad = hosts
    path = inventory(sandbox, tmp_path / "inv.yml", {bad.name: address_of(sandbox, bad.name)})
    proc = subprocess.Popen([sys.executable, "-m", "configurator.cli", "apply", str(path),
                             "--var", "slow_seconds=3"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: running(bad, "sleep 3"))
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "RECAP" in out and bad.name in out and "interrupted" in out
    assert sh(bad, "flock -n /var/lib/configurator/lock echo free") == "free\n"
    assert sh(bad, "find /srv/faults -name '.*cfg-*'") == ""
    assert configure("apply", path)[0] == 0


def test_a_full_disk_fails_the_host_and_keeps_the_old_file(sandbox, hosts, tmp_path):
    ok, bad = hosts
    # mode=0755: a tmpfs is 1777 by default, a directory root refuses to write in (docs/security.md)
    sh(bad, "umount /srv/tiny 2>/dev/null; mkdir -p /srv/tiny && mount -t tmpfs -o size=64k,mode=0755 tmpfs /srv/tiny")
    try:
        path = inventory(sandbox, tmp_path / "inv.yml", {bad.name: address_of(sandbox, bad.name)})
        tiny = "--var", "data_path=/srv/tiny/data.txt"
        assert configure("apply", path, *tiny)[0] == 0
        code, data = configure("apply", path, *tiny, "--var", f"payload={'y' * 200_000}",
                               report=tmp_path / "full.json")
        assert code == 1
        assert "No space left on device" in data["hosts"][0]["error"]
        assert sh(bad, "cat /srv/tiny/data.txt") == "v1\n"
        assert sh(bad, "ls -A /srv/tiny") == "data.txt\n"  # the temp file was removed
    finally:
        sh(bad, "umount /srv/tiny; rmdir /srv/tiny", check=False)


@pytest.mark.parametrize("max_fail, node11_runs", [(1, False), (2, True)])
def test_the_failure_budget_counts_across_rolling_batches(sandbox, hosts, tmp_path, max_fail, node11_runs):
    import yaml

    ok, _ = hosts
    refused = {**address_of(sandbox, ok.name), "port": 2222}  # nothing listens there: the host fails at once
    path = inventory(sandbox, tmp_path / "inv.yml", {"down1": refused, "down2": refused,
                                                       ok.name: address_of(sandbox, ok.name)})
    data = yaml.safe_load(path.read_text())
    data["groups"]["faults"].update(serial=1, max_fail=max_fail)
    path.write_text(yaml.safe_dump(data))
    code, report = configure("apply", path, report=tmp_path / "rolling.json")
    statuses = {h["host"]: h["status"] for h in report["hosts"]}
    assert statuses["down1"] == statuses["down2"] == "unreachable"
    assert statuses[ok.name] == ("changed" if node11_runs else "skipped")
    assert code != 0  # some host failed, whatever the budget allowed
    assert sh(ok, "test -e /srv/faults/data.txt && echo yes || echo no") == ("yes\n" if node11_runs else "no\n")
