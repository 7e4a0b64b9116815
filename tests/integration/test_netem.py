"""`configure sandbox netem` on node54: a delay each way doubles in the round trip, a converged apply still
makes one round trip, `--clear` takes the delay off (and is always run at the end). On a kernel built
without the netem qdisc the command must say so, exit 1 and leave no qdisc behind."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from configurator.cli import commands as cli
from tests.integration.engine_helpers import configure, write_inventory

HOST = "node54"
ROLE = """\
description: one file, converged after the first run
resources:
  - file: {path: /etc/configurator-netem-demo, content: "delayed\\n", mode: "0644"}
"""


def ping_ms(address: str, count: int = 5) -> float:
    """The shortest of `count` ping round trips from this machine to `address` (ms)."""
    done = subprocess.run(["ping", "-n", "-c", str(count), "-i", "0.2", "-W", "2", address],
                          capture_output=True, text=True, timeout=30)
    found = re.search(r"= ([\d.]+)/", done.stdout)  # rtt min/avg/max/mdev = 0.041/...
    assert done.returncode == 0 and found, done.stdout + done.stderr
    return float(found[1])


def qdiscs(device: str) -> str:
    """What `tc` shows on one of node54's links, as seen from this machine."""
    return subprocess.run(["tc", "qdisc", "show", "dev", device], capture_output=True, text=True, timeout=10).stdout


@pytest.fixture
def delayed(sandbox, capsys) -> Iterator[bool]:
    """node54 with 50 ms each way (True), or the refusal of a kernel without netem checked (False); cleared after."""
    try:
        code = cli.main(["sandbox", "netem", "--delay", "50ms", "--hosts", HOST])
        err = capsys.readouterr().err
        if code != 0 and "has no netem qdisc" in err:
            assert code == 1, err
            assert "netem" not in qdiscs(sandbox.host(HOST).veth)
            yield False
            return
        assert code == 0, err
        yield True
    finally:
        assert cli.main(["sandbox", "netem", "--clear", "--hosts", HOST]) == 0


def test_a_delay_each_way_doubles_in_the_round_trip_and_clear_restores_it(sandbox, delayed, tmp_path: Path, capsys):
    address = sandbox.host(HOST).address
    if not delayed:  # this kernel cannot delay packets: the refusal in the fixture is what there is to check
        return
    assert ping_ms(address) >= 100.0  # 50 ms to the host and 50 ms back
    assert cli.main(["sandbox", "status"]) in (0, 3)
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(f"{HOST}\t"))
    assert re.search(r"\tnetem .*delay 50(\.0)?ms.* each way$", line), line  # both ends alike

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

    assert cli.main(["sandbox", "netem", "--clear", "--hosts", HOST]) == 0
    assert ping_ms(address) < 20.0
