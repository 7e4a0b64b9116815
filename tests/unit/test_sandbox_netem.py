"""`sandbox netem` as data: durations and percentages, the tc command lines and iptables rules, what status reads."""

from __future__ import annotations

import os
import subprocess
from contextlib import nullcontext

import pytest

from configurator.cli import commands as cli
from configurator.sandbox import SandboxError, delay, delay_netns, delay_rules, lifecycle, userspace_delay
from configurator.sandbox import netem as netem_module
from configurator.sandbox.netem import Netem, chosen, milliseconds, parse_qdiscs, percent, set_argv
from configurator.sandbox.process import ProcessRef
from configurator.sandbox.state import Sandbox, SandboxHost


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


# where the kernel has no netem qdisc: iptables rules that queue a host's packets to the delay daemon

LISTING = """\
-N CFG-NETEM
-A CFG-NETEM -d 198.18.0.64/32 -m addrtype --src-type LOCAL -j NFQUEUE --queue-num 19818 --queue-bypass
-A CFG-NETEM -s 198.18.0.64/32 -m addrtype --dst-type LOCAL -j NFQUEUE --queue-num 19818 --queue-bypass
-A CFG-NETEM -d 198.18.0.65/32 -m addrtype --src-type LOCAL -j NFQUEUE --queue-num 19818 --queue-bypass
"""


def test_a_delayed_host_has_a_rule_each_way_as_iptables_lists_it():
    assert delay_rules.host_rules("198.18.0.64") == [line.split()[2:] for line in LISTING.splitlines()[1:3]]


@pytest.mark.parametrize(("listing", "delayed"), [
    (LISTING, {"198.18.0.64", "198.18.0.65"}),
    ("-N CFG-NETEM\n", set()),
    ("", set()),
])
def test_the_delayed_hosts_are_read_from_the_listing(listing, delayed):
    assert delay_rules.delayed(listing) == delayed


@pytest.mark.parametrize(("addresses", "deleted"), [
    (["198.18.0.64"], [1, 2]),
    (["198.18.0.65", "198.18.0.99"], [3]),  # a host without a delay has nothing to delete
    ([], []),
])
def test_clearing_deletes_exactly_the_listed_rules_of_the_hosts(addresses, deleted):
    lines = LISTING.splitlines()
    assert delay_rules.deletions(LISTING, addresses) == [["-D", *lines[i].split()[1:]] for i in deleted]


def test_without_iptables_the_error_says_which_package_to_install(monkeypatch):
    monkeypatch.setattr(delay_rules.shutil, "which", lambda name: None)
    with pytest.raises(SandboxError, match="install the `iptables` package"):
        delay_rules.iptables("-S", "CFG-NETEM")


def test_what_the_machine_sends_a_host_is_queued_in_the_hosts_namespace_as_iptables_lists_it():
    listed = "-A CFG-NETEM -s 198.18.0.1/32 -i eth0 -j NFQUEUE --queue-num 19818 --queue-bypass"
    assert delay_rules.gateway_rule() == listed.split()[2:]
    assert delay_netns.nsenter(154) == ["nsenter", "--net=/proc/154/ns/net"]
    assert delay_rules.HOOKS == ("PREROUTING",)  # not OUTPUT: held there, a socket sends ~2 packets per delay


def test_a_host_side_is_added_in_the_hosts_namespace_once(monkeypatch):
    ran = []

    def run(*args, check=True, where=()):
        ran.append([*where, *args])
        listed = "-N CFG-NETEM\n" + ("-A CFG-NETEM " + " ".join(delay_rules.gateway_rule()) if len(ran) > 3 else "")
        return subprocess.CompletedProcess(args, 0, listed, "")

    monkeypatch.setattr(delay_rules, "iptables", run)
    delay_rules.add_host_side(154)
    delay_rules.add_host_side(154)
    prefix = ["nsenter", "--net=/proc/154/ns/net"]
    assert ran == [[*prefix, "-S", "CFG-NETEM"], [*prefix, "-C", "PREROUTING", "-j", "CFG-NETEM"],
                   [*prefix, "-A", "CFG-NETEM", *delay_rules.gateway_rule()],
                   [*prefix, "-S", "CFG-NETEM"], [*prefix, "-C", "PREROUTING", "-j", "CFG-NETEM"]]


@pytest.mark.parametrize("which", ["gone", "reused"])  # a reused PID: a process in the machine's own namespace
def test_the_host_side_of_a_host_that_is_gone_is_skipped(monkeypatch, which):
    monkeypatch.setattr(delay_rules, "remove_chain", lambda where=(): pytest.fail(f"removed in {where}"))
    delay_rules.remove_host_side(2**22 + 1 if which == "gone" else os.getpid())


RECORDED = userspace_delay.Daemon(ProcessRef(4242, 99), Netem(50), (101, 102))


@pytest.mark.parametrize(("netem", "hosts", "serves"), [
    (Netem(50), HOSTS[:2], True),
    (Netem(50), HOSTS[1:2], True),  # a host cleared and delayed again: its queue is still bound
    (Netem(50), HOSTS, False),  # node3's namespace has no queue yet
    (Netem(60), HOSTS[:1], False),
])
def test_the_daemon_is_restarted_for_a_new_setting_or_a_new_namespace(netem, hosts, serves):
    assert userspace_delay.serves(RECORDED, netem, hosts) is serves


def test_a_new_daemon_reads_the_namespaces_of_the_new_hosts_and_of_those_still_there(monkeypatch):
    monkeypatch.setattr(userspace_delay.delay_netns, "path", lambda pid: "/" if pid == 101 else "/no/such/netns")
    assert userspace_delay.wanted(RECORDED, HOSTS[2:]) == [101, 103]
    assert userspace_delay.wanted(None, HOSTS[:1]) == [101]


def test_clearing_the_last_host_removes_both_sides_of_every_recorded_host(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(delay_rules, "available", lambda: True)
    monkeypatch.setattr(delay_rules, "remove_host_side", lambda pid: calls.append(("host", pid)))
    monkeypatch.setattr(delay_rules, "remove", lambda addresses: calls.append(("machine", list(addresses))) or set())
    monkeypatch.setattr(delay_rules, "remove_chain", lambda: calls.append(("chain",)))
    monkeypatch.setattr(userspace_delay, "machine_lock", lambda path: nullcontext())
    (tmp_path / userspace_delay.RECORD).write_text(userspace_delay.record_text(RECORDED))
    userspace_delay.clear(tmp_path, HOSTS[:1])
    assert calls == [("host", 101), ("machine", ["198.18.0.11"]), ("host", 101), ("host", 102), ("chain",)]


def test_the_daemon_record_reads_back_and_a_broken_one_is_none():
    daemon = userspace_delay.Daemon(ProcessRef(4242, 99), Netem(50, 5, 0.1), (101, 102))
    assert userspace_delay.parse_record(userspace_delay.record_text(daemon)) == daemon
    before = '{"pid": 4242, "start": 99, "delay": 50, "jitter": 0, "loss": 0}'  # written before the namespaces
    assert userspace_delay.parse_record(before) == userspace_delay.Daemon(ProcessRef(4242, 99), Netem(50))
    for text in ("", "{}", '{"pid": "x"}', "[1]"):
        assert userspace_delay.parse_record(text) is None


def test_the_daemon_runs_from_this_interpreter_with_its_setting():
    argv = userspace_delay.argv(Netem(50, 5, 0.1), [101, 102], 7)
    assert argv[1:4] == ["-I", "-m", "configurator.sandbox.delay_daemon"]
    assert argv[4:] == ["--queue", "19818", "--delay", "50", "--jitter", "5", "--loss", "0.1", "--netns", "101,102",
                        "--ready-fd", "7"]


def test_down_leaves_the_machine_alone_when_its_state_dir_set_no_delay(tmp_path, monkeypatch):
    removed = []
    monkeypatch.setattr(delay_rules, "remove_chain", lambda: removed.append("chain"))
    monkeypatch.setattr(delay_rules, "available", lambda: True)
    userspace_delay.down(tmp_path)
    assert removed == []
    (tmp_path / userspace_delay.RECORD).write_text(userspace_delay.record_text(
        userspace_delay.Daemon(ProcessRef(2**22 + 1, 1), Netem(50))))  # no such process: nothing to stop
    userspace_delay.down(tmp_path)
    assert removed == ["chain"] and not (tmp_path / userspace_delay.RECORD).exists()


@pytest.mark.parametrize(("has_netem", "used", "line"), [
    (True, "tc", "netem delay 50ms each way on node1"),
    (False, "userspace", "netem delay 50ms each way (userspace) on node1"),
])
def test_a_delay_goes_through_tc_where_the_kernel_has_netem_else_through_the_queue(
        monkeypatch, tmp_path, has_netem, used, line):
    calls = []
    monkeypatch.setattr(delay, "kernel_has_netem", lambda: has_netem)
    monkeypatch.setattr(delay.netem, "apply", lambda hosts, spec: calls.append("tc"))
    monkeypatch.setattr(delay.userspace_delay, "apply", lambda d, hosts, spec: calls.append("userspace") or set())
    assert delay.apply(tmp_path, HOSTS[:1], Netem(50)) == line
    assert calls == [used]


def test_clear_takes_off_either_kind_of_delay(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(delay.netem, "apply", lambda hosts, spec: calls.append(("tc", spec)))
    monkeypatch.setattr(delay.userspace_delay, "clear", lambda d, hosts: calls.append(("userspace", d)))
    assert delay.apply(tmp_path, HOSTS[:2], None) == "no netem on node1, node2"
    assert calls == [("tc", None), ("userspace", tmp_path)]


@pytest.mark.parametrize(("code", "stderr", "expected"), [
    (0, "", True),
    (2, "Error: Specified qdisc kind is unknown.\n", False),
])
def test_the_kernel_is_asked_once_in_a_throwaway_namespace(monkeypatch, code, stderr, expected):
    ran = []

    def run(argv, **kwargs):
        ran.append(argv)
        return subprocess.CompletedProcess(argv, code, "", stderr)

    monkeypatch.setattr(delay.subprocess, "run", run)
    assert delay.kernel_has_netem() is expected
    assert ran == [["unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]]


def test_status_shows_the_userspace_delay_of_the_delayed_hosts_only(monkeypatch, tmp_path):
    monkeypatch.setattr(delay_rules, "available", lambda: True)
    monkeypatch.setattr(delay_rules, "listing", lambda: LISTING.replace("198.18.0.64", HOSTS[0].address))
    monkeypatch.setattr(userspace_delay, "running",
                        lambda d: userspace_delay.Daemon(ProcessRef(1, 1), Netem(50, 5)))
    monkeypatch.setattr(delay.netem, "shown", lambda host: "")
    sandbox = Sandbox(HOSTS, tmp_path, tmp_path / "key", tmp_path / "known_hosts", tmp_path / "inventory.yml")
    assert delay.columns(sandbox) == {"node1": "netem delay 50ms jitter 5ms each way (userspace)"}
    monkeypatch.setattr(userspace_delay, "running", lambda d: None)
    assert delay.columns(sandbox) == {"node1": "netem rules but no delay daemon: undelayed"}


def test_sandbox_down_removes_the_userspace_delay_before_the_hosts(monkeypatch, tmp_path):
    done = []
    monkeypatch.setattr(lifecycle, "require_root", lambda: None)
    monkeypatch.setattr(lifecycle.ownership, "machine_lock", nullcontext)
    for name in ("refuse_foreign", "release"):
        monkeypatch.setattr(lifecycle.ownership, name, lambda d: None)
    monkeypatch.setattr(lifecycle, "remove_light", lambda d: ())
    monkeypatch.setattr(lifecycle, "light_leftovers", lambda d, hosts: [])
    monkeypatch.setattr(lifecycle, "remove_delay", lambda d: done.append(("delay", d)))
    monkeypatch.setattr(lifecycle.teardown, "observed_plan", lambda s: done.append(("hosts", s.state_dir)))
    monkeypatch.setattr(lifecycle.teardown, "execute", lambda p: None)
    monkeypatch.setattr(lifecycle.teardown, "leftovers", lambda p: [])
    lifecycle.down(tmp_path)
    assert done == [("delay", tmp_path), ("hosts", tmp_path)]
