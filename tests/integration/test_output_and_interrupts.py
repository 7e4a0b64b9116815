"""Large command output (bounded controller memory) and Ctrl-C (once: finish the step; twice: stop it)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.engine_helpers import sh, write_inventory
from tests.integration.faults_helpers import _cmdlines, wait_for

pytestmark = pytest.mark.integration

HOST = "node15"
# run the CLI in a child process and report its peak resident memory (VmHWM) on the last line of stderr
CHILD = ("import sys\nfrom configurator import cli\ncode = cli.main(sys.argv[1:])\n"
         "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
         "print('PEAK', int(hwm.split()[1]), file=sys.stderr)\nsys.exit(code)\n")
BIG = 20_000_000
# one 20 MB line on stdout, 20 MB of 64-byte lines on stderr, then a failure
LOUD = (f"head -c {BIG} /dev/zero | tr '\\0' x; "
        f"yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd | head -c {BIG} >&2; exit 3")


def on_host(host, words: str) -> list[int]:
    """Machine PIDs of the host's processes whose command line contains `words`."""
    return [pid for pid, line in _cmdlines(host).items() if words in line]


def end_on_host(host, words: str) -> None:
    """SIGKILL, by PID, what an earlier (failed) test left running on the host."""
    for pid in on_host(host, words):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def host(sandbox):
    node = sandbox.host(HOST)
    for words in ("sleep 61", "sleep 301", "sleep 62"):
        end_on_host(node, words)
    return node


def inventory(sandbox, folder: Path, argv: list[str], timeout: int = 600) -> Path:
    """An inventory putting one command resource on node15 (a role written into `folder`)."""
    role = folder / "roles" / "loud"
    role.mkdir(parents=True)
    role.joinpath("role.yml").write_text(yaml.safe_dump(
        {"description": "one command", "resources": [{"command": {"argv": argv, "timeout": timeout}}]}))
    return write_inventory(sandbox, folder / "inv.yml", {"loud": {"hosts": [HOST], "roles": ["loud"]}},
                           roles_path=[str(folder / "roles")])


def cli(*argv: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CHILD, *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def peak_kib(stderr: str) -> int:
    return int(stderr.strip().splitlines()[-1].split()[1])


def test_large_output_keeps_the_controller_memory_bounded_and_lines_short(sandbox, host, tmp_path):
    quiet = cli("apply", inventory(sandbox, tmp_path / "quiet", ["sh", "-c", "echo small; exit 3"]))
    _, err = finish(quiet, 120)
    loud = cli("apply", inventory(sandbox, tmp_path / "loud", ["sh", "-c", LOUD]), "--json", tmp_path / "r.json")
    out, loud_err = finish(loud, 300)
    assert loud.returncode == 1, out + loud_err
    growth = peak_kib(loud_err) - peak_kib(err)
    assert growth < 48 * 1024, f"peak RSS grew by {growth} KiB for 40 MB of output"
    data = json.loads((tmp_path / "r.json").read_text())
    hosts = data["hosts"]
    assert hosts[0]["round_trips"] == 2  # the probe and the step
    assert "exit 3" in hosts[0]["error"] and "0123456789abcdef" in hosts[0]["error"]
    assert len(hosts[0]["error"]) < 8000
    assert max(len(line) for line in out.splitlines()) < 8000


def interrupt(proc: subprocess.Popen[str], times: int) -> tuple[str, str]:
    for _ in range(times):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
    return finish(proc, 30)  # the step sleeps 61 s: waiting for it would overrun this


def finish(proc: subprocess.Popen[str], seconds: float) -> tuple[str, str]:
    """The child's output once it exited; killed (by PID) when it overruns `seconds`."""
    try:
        return proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"still running after {seconds}s:\n{out}\n{err}") from None


@pytest.mark.parametrize("times", [2, 4])
def test_second_ctrl_c_stops_the_running_step_and_frees_the_lock(sandbox, host, tmp_path, times):
    path = inventory(sandbox, tmp_path, ["sleep", "61"])
    proc = cli("apply", path)
    wait_for(lambda: on_host(host, "sleep 61"))
    out, err = interrupt(proc, times)
    assert proc.returncode == 130, out + err
    assert "RECAP" in out and HOST in out and "interrupted" in out
    assert "Traceback" not in err, err
    assert not on_host(host, "sleep 61")
    assert sh(host, "flock -n /var/lib/configurator/lock echo free") == "free\n"


def test_a_timeout_ends_a_setsid_grandchild_of_the_command(sandbox, host, tmp_path):
    path = inventory(sandbox, tmp_path, ["sh", "-c", "setsid sleep 301 & sleep 62"], timeout=2)
    proc = cli("apply", path, "--json", tmp_path / "r.json")
    out, err = finish(proc, 120)
    assert proc.returncode == 1, out + err
    assert "exit 124" in json.loads((tmp_path / "r.json").read_text())["hosts"][0]["error"]
    assert not on_host(host, "sleep 62")
    assert not on_host(host, "sleep 301")


def test_one_ctrl_c_lets_the_running_step_finish(sandbox, host, tmp_path):
    sh(host, "rm -f /tmp/oi-finished")
    path = inventory(sandbox, tmp_path, ["sh", "-c", "sleep 3; touch /tmp/oi-finished"])
    proc = cli("apply", path)
    wait_for(lambda: on_host(host, "sleep 3"))
    out, err = interrupt(proc, 1)
    assert proc.returncode == 130, out + err
    assert "RECAP" in out and "Traceback" not in err
    assert sh(host, "ls /tmp/oi-finished") == "/tmp/oi-finished\n"
    assert sh(host, "flock -n /var/lib/configurator/lock echo free") == "free\n"
