"""`configure sandbox netem` on node54: a delay each way doubles in the round trip, a converged apply still
makes one round trip, a bulk transfer gets through either way at the speed of its window, loss drops some
packets each way, `--clear` takes it all off (and is always run at the end). On a kernel without the netem
qdisc (this machine's) the delay is the userspace one: its daemon and its iptables rules, the machine's and
the host's, must be gone after `--clear` too."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from configurator.cli import commands as cli
from configurator.sandbox import Sandbox, delay, delay_netns, process, userspace_delay
from tests.integration.engine_helpers import configure, write_inventory

HOST = "node54"
ROLE = """\
description: one file, converged after the first run
resources:
  - file: {path: /etc/configurator-netem-demo, content: "delayed\\n", mode: "0644"}
"""


def ping(address: str, count: int, interval: float = 0.2, every: bool = True) -> tuple[int, list[float]]:
    """How many of `count` pings from this machine were answered, and min/avg/max of their round trips (ms).

    -U: from ping's send to its read of the reply. Without it ping takes the reply's time from the kernel's
    receive timestamp, set when the packet arrives, before the userspace delay holds it on its way in.
    `every` (no loss asked): -w, a deadline. After its last send ping waits only about two round trips for
    the replies still out, so a reply the delay daemon released late under the whole suite's load counted
    as lost (once, 19 of 20); with a deadline it waits for each until then. With loss asked, ping must end
    on its own: with a deadline it would send on until `count` replies came.
    """
    deadline = ["-w", str(int(10 + count * interval))] if every else []
    done = subprocess.run(["ping", "-n", "-U", "-c", str(count), "-i", str(interval), "-W", "2", *deadline,
                           address], capture_output=True, text=True, timeout=30 + count * interval)
    answered = re.search(r"(\d+) received", done.stdout)
    times = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/", done.stdout)  # rtt min/avg/max/mdev = 0.041/...
    assert answered, done.stdout + done.stderr
    return int(answered[1]), [float(t) for t in times.groups()] if times else []


def fastest_ms(address: str) -> float:
    """The shortest of 5 round trips (ms), every ping answered."""
    answered, times = ping(address, 5)
    assert answered == 5, times
    return times[0]


def rules(where: list[str] | None = None) -> str:
    """The raw and mangle tables as iptables lists them: the machine's, or those behind the `where` prefix."""
    return "".join(subprocess.run([*(where or []), "iptables", "-t", table, "-S"], capture_output=True, text=True,
                                  timeout=30).stdout for table in ("raw", "mangle"))


def no_rules_left(sandbox: Sandbox) -> bool:
    """Whether neither the machine nor node54's namespace has a CFG-NETEM chain any more."""
    inside = rules(delay_netns.nsenter(sandbox.host(HOST).pid))
    return "CFG-NETEM" not in rules() and "CFG-NETEM" not in inside and "-P PREROUTING" in inside


@pytest.fixture
def netem(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., str]]:
    """Set a delay on node54 (`netem("--delay", "50ms")` returns what the command printed); cleared after."""

    def put(*args: str) -> str:
        code = cli.main(["sandbox", "netem", *args, "--hosts", HOST])
        printed = capsys.readouterr()
        assert code == 0, printed.err
        return printed.out

    try:
        yield put
    finally:  # clearing a host that has no delay (any more) is not an error
        assert cli.main(["sandbox", "netem", "--clear", "--hosts", HOST]) == 0


def transferred(sandbox: Sandbox, address: str, size: str = "10M") -> int:
    """Bytes that came back from `ssh HOST head -c SIZE /dev/zero` (bounded by a timeout)."""
    argv = ["ssh", "-i", str(sandbox.key_path), "-o", f"UserKnownHostsFile={sandbox.known_hosts}",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", f"root@{address}", f"head -c {size} /dev/zero"]
    return len(subprocess.run(argv, capture_output=True, timeout=120, check=True).stdout)


def pushed(sandbox: Sandbox, address: str, size: int, timeout: float) -> int:
    """Bytes the host counted of `size` pushed to it over ssh within `timeout` seconds (TimeoutExpired past it)."""
    argv = ["ssh", "-i", str(sandbox.key_path), "-o", f"UserKnownHostsFile={sandbox.known_hosts}",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", f"root@{address}", "wc -c"]
    done = subprocess.run(argv, input=bytes(size), capture_output=True, timeout=timeout, check=True)
    return int(done.stdout.split()[0])


def test_a_push_to_the_host_is_not_throttled_by_the_delay(sandbox, netem):
    netem("--delay", "50ms")
    inside = rules(delay_netns.nsenter(sandbox.host(HOST).pid))
    assert ("-s 198.18.0.1/32 -i eth0 -j NFQUEUE" in inside) is not delay.kernel_has_netem()  # held on the host
    # held in the machine's own OUTPUT, TCP small queues let ssh have ~2 packets per delay below it: 4 MB
    # would take 76 s at ~55 kB/s; held on the host's side, the window is the limit, as over a real WAN
    assert pushed(sandbox, sandbox.host(HOST).address, 4 << 20, timeout=60) == 4 << 20


def test_a_delay_each_way_doubles_in_the_round_trip_and_clear_restores_it(sandbox, netem, tmp_path: Path, capsys):
    address = sandbox.host(HOST).address
    userspace = not delay.kernel_has_netem()
    assert "netem delay 50ms each way" in netem("--delay", "50ms")
    answered, (low, average, high) = ping(address, 20)
    print(f"ping {HOST} at 50 ms each way: {answered}/20, min/avg/max {low}/{average}/{high} ms")
    assert answered == 20 and low >= 100.0  # 50 ms to the host and 50 ms back
    assert cli.main(["sandbox", "status"]) in (0, 3)
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(f"{HOST}\t"))
    assert re.search(r"\tnetem .*delay 50(\.0)?ms.* each way( \(userspace\))?$", line), line  # both ways alike

    role = tmp_path / "roles" / "netem_demo"
    role.mkdir(parents=True)
    (role / "role.yml").write_text(ROLE)
    path = write_inventory(sandbox, tmp_path / "inventory.yml", {"demo": {"hosts": [HOST], "roles": ["netem_demo"]}},
                           roles_path=[str(tmp_path / "roles")])
    assert configure("apply", path, report=tmp_path / "first.json")[0] == 0
    code, report = configure("apply", path, report=tmp_path / "again.json")
    assert code == 0 and report is not None
    entry = report["hosts"][0]
    assert (entry["status"], entry["round_trips"]) == ("ok", 1), entry
    assert entry["seconds"] >= 0.1  # at least the one round trip's 100 ms
    assert transferred(sandbox, address) == 10 << 20  # a bulk transfer gets through the queue whole

    daemon = userspace_delay.read(sandbox.state_dir)
    assert (daemon is not None and userspace_delay.ours(daemon.process)) is userspace
    assert cli.main(["sandbox", "netem", "--clear", "--hosts", HOST]) == 0
    assert fastest_ms(address) < 20.0
    assert daemon is None or not process.alive(daemon.process)  # the daemon ended with the last delayed host
    assert no_rules_left(sandbox) and not (sandbox.state_dir / userspace_delay.RECORD).exists()


def test_loss_drops_some_packets_each_way_but_not_all(sandbox, netem):
    address = sandbox.host(HOST).address
    assert "loss 50%" in netem("--delay", "1ms", "--loss", "50%")
    answered, _ = ping(address, 40, interval=0.05, every=False)
    assert 0 < answered < 40  # a round trip survives two draws of 50%: about 10 of 40


def test_what_sandbox_down_removes_of_the_delay(sandbox, netem):
    netem("--delay", "50ms")
    daemon = userspace_delay.read(sandbox.state_dir)
    userspace_delay.down(sandbox.state_dir)  # the part of `configure sandbox down` that the delay is
    assert daemon is None or not process.alive(daemon.process)
    assert no_rules_left(sandbox) and not (sandbox.state_dir / userspace_delay.RECORD).exists()
    assert fastest_ms(sandbox.host(HOST).address) < 20.0


def test_packets_of_one_flow_sent_faster_than_the_delay_all_arrive(sandbox, netem):
    netem("--delay", "50ms")
    answered, times = ping(sandbox.host(HOST).address, 30, interval=0.01)  # 5 pings sent within one delay
    assert answered == 30 and times[0] >= 100.0  # none lost as a second new flow of the same ping (conntrack)


def test_jitter_spreads_the_round_trips_around_the_delay(sandbox, netem):
    assert "jitter 10ms" in netem("--delay", "50ms", "--jitter", "10ms")
    answered, (low, _, high) = ping(sandbox.host(HOST).address, 20, interval=0.05)
    assert answered == 20 and low >= 80.0  # 40 ms at the least each way
    assert high - low > 5.0  # two uniform draws of ±10 ms: 20 round trips that close together would be a fluke
