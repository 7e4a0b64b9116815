"""`sandbox netem` as data: durations and percentages, the tc command lines, what status reads back."""

from __future__ import annotations

import pytest

from configurator.cli import commands as cli
from configurator.sandbox import SandboxError
from configurator.sandbox import netem as netem_module
from configurator.sandbox.netem import Netem, chosen, milliseconds, parse_qdiscs, percent, set_argv
from configurator.sandbox.state import SandboxHost


@pytest.mark.parametrize(("text", "ms"), [("50ms", 50.0), ("0.2s", 200.0), ("500us", 0.5), ("75", 75.0)])
def test_durations(text, ms):
    assert milliseconds(text) == ms


@pytest.mark.parametrize("text", ["", "fast", "-5ms", "5 minutes", "5m"])
def test_bad_durations(text):
    with pytest.raises(SandboxError, match="not a duration"):
        milliseconds(text)


@pytest.mark.parametrize(("text", "value"), [("0.1%", 0.1), ("5", 5.0), ("100%", 100.0)])
def test_percentages(text, value):
    assert percent(text) == value


@pytest.mark.parametrize("text", ["101%", "-1%", "some"])
def test_bad_percentages(text):
    with pytest.raises(SandboxError, match="not a percentage"):
        percent(text)


@pytest.mark.parametrize(("netem", "argv"), [
    (Netem(50), ["tc", "qdisc", "replace", "dev", "cfgv-node54", "root", "netem", "delay", "50ms"]),
    (Netem(50, 5, 0.1), ["tc", "qdisc", "replace", "dev", "cfgv-node54", "root", "netem", "delay", "50ms", "5ms",
                         "loss", "0.1%"]),
    (None, ["tc", "qdisc", "del", "dev", "cfgv-node54", "root"]),
])
def test_tc_command_lines(netem, argv):
    assert set_argv("cfgv-node54", netem) == argv


def test_describe_says_each_setting_once():
    assert Netem(50, 5, 0.1).describe() == "netem delay 50ms jitter 5ms loss 0.1%"
    assert Netem(12.5).describe() == "netem delay 12.5ms"


@pytest.mark.parametrize(("shown", "expected"), [
    ("qdisc netem 8001: root refcnt 2 limit 1000 delay 50ms  5ms loss 0.1%\n", "limit 1000 delay 50ms 5ms loss 0.1%"),
    ("qdisc netem 8002: root limit 1000 delay 50ms\n", "limit 1000 delay 50ms"),
    ("qdisc noqueue 0: root refcnt 2 \n", ""),
    ("", ""),
])
def test_status_reads_the_netem_back_in_tcs_words(shown, expected):
    assert parse_qdiscs(shown) == expected


HOSTS = tuple(SandboxHost(f"node{i}", f"198.18.0.{10 + i}", 100 + i, f"cfgv-node{i}", i) for i in (1, 2, 3))


def running(host):
    return host.name != "node2"


def test_hosts_are_all_running_hosts_or_the_ones_named():
    assert [h.name for h in chosen(HOSTS, None, running)] == ["node1", "node3"]
    assert [h.name for h in chosen(HOSTS, "node3,node1", running)] == ["node3", "node1"]
    with pytest.raises(SandboxError, match="no sandbox host named node9"):
        chosen(HOSTS, "node1,node9", running)
    with pytest.raises(SandboxError, match="not running: node2"):
        chosen(HOSTS, "node2", running)


def test_netem_needs_a_delay_or_clear_not_both(capsys):
    assert cli.main(["sandbox", "netem", "--delay", "50ms", "--clear"]) == 1
    assert cli.main(["sandbox", "netem"]) == 1
    assert capsys.readouterr().err.count("give --delay (with --jitter, --loss if wanted) or --clear") == 2


@pytest.mark.parametrize(("present", "deleted"), [
    ("qdisc netem 8001: root refcnt 2 limit 1000 delay 50ms\n", True),
    ("qdisc htb 1: root refcnt 2 r2q 10 default 0\n", False),  # another tool's qdisc stays
    ("qdisc noqueue 0: root refcnt 2\n", False),
])
def test_clear_takes_off_a_netem_and_nothing_else(monkeypatch, present, deleted):
    ran = []

    def run(argv, clearing):
        ran.append(argv)
        return present if "show" in argv else ""

    monkeypatch.setattr(netem_module, "_run", run)
    netem_module.apply(HOSTS[:1], None)
    dels = [argv for argv in ran if "del" in argv]
    assert dels == ([["tc", "qdisc", "del", "dev", "cfgv-node1", "root"],
                     ["nsenter", "--net=/proc/101/ns/net", "tc", "qdisc", "del", "dev", "eth0", "root"]]
                    if deleted else [])
