"""The userspace delay as data: nfnetlink_queue messages (bytes in, bytes out) and the schedule of held packets."""

from __future__ import annotations

import os
import random

import pytest

from configurator.sandbox import delay_netns, nfqueue
from configurator.sandbox.delay_daemon import Schedule, namespaces, next_timeout, parse_options, wait
from configurator.sandbox.netem import Netem

# read from the kernel (6.18) in a throwaway network namespace: a ping queued by mangle OUTPUT to queue 19818,
# metadata only (packet id 1, IPv4, hook 3 = OUTPUT, out through ifindex 1); the acknowledgement of a bind;
# and the refusal (-EPERM, the request echoed) when a second socket binds the same queue
PACKET = bytes.fromhex("2800000000030000000000000000000002004d6a0b00010000000001080003000800060000000001")
ACK = bytes.fromhex("2400000002000001010000009f4c00000000000040000000020305000100000000000000")
REFUSED = bytes.fromhex(
    "54000000020000000100000085f4a8d3ffffffff4000000002030500010000000000000000004d6a080001000100000209000200"
    "0000000001000000080003000000040008000500000000050800040000000005"
)


@pytest.mark.parametrize(("kind", "value", "expected"), [
    (1, b"\x01", "05000100" "01000000"),  # padded to four bytes
    (3, bytes(4), "08000300" "00000000"),
    (2, b"", "04000200"),
])
def test_attributes_are_padded_to_four_bytes(kind, value, expected):
    assert nfqueue.attribute(kind, value).hex() == expected


def test_bind_asks_for_metadata_a_long_queue_fail_open_and_gso_with_an_acknowledgement():
    assert nfqueue.bind(19818, 65536, sequence=1).hex() == (
        "40000000" "0203" "0500" "01000000" "00000000"  # length 64, queue config, request + ack, sequence 1
        "00004d6a"  # AF_UNSPEC, version 0, queue 19818
        "08000100" "01000002"  # bind, AF_INET
        "09000200" "0000000001" "000000"  # copy range 0, metadata only
        "08000300" "00010000"  # 65536 packets at most
        "08000500" "00000005"  # fail open | GSO
        "08000400" "00000005"  # ... and the mask that says which flags are meant
    )


@pytest.mark.parametrize(("accept", "word"), [(True, "00000001"), (False, "00000000")])
def test_a_verdict_names_the_packet_and_accepts_or_drops_it(accept, word):
    assert nfqueue.verdict(19818, 7, accept).hex() == (
        "20000000" "0103" "0100" "00000000" "00000000" "00004d6a" "0c000200" + word + "00000007"
    )


def test_verdicts_go_out_together_in_one_datagram():
    both = nfqueue.verdicts(19818, [3, 4])
    assert both == nfqueue.verdict(19818, 3, True) + nfqueue.verdict(19818, 4, True)
    assert [nfqueue.packet_id(m) for m in nfqueue.messages(both)] == [None, None]  # verdicts are not packets
    assert len(list(nfqueue.messages(both))) == 2


@pytest.mark.parametrize(("data", "ids", "errors"), [
    (PACKET, [1], [None]),
    (PACKET + PACKET.replace(bytes.fromhex("00000001") + b"\x08\x00", bytes.fromhex("00000009") + b"\x08\x00"),
     [1, 9], [None, None]),
    (ACK, [None], [0]),  # an acknowledgement is an error message whose error is 0
    (REFUSED, [None], [1]),
    (PACKET[:30], [], []),  # a truncated message is left alone
    (b"", [], []),
])
def test_messages_read_from_the_kernel(data, ids, errors):
    found = list(nfqueue.messages(data))
    assert [nfqueue.packet_id(m) for m in found] == ids
    assert [nfqueue.error(m) for m in found] == errors


def test_attributes_of_a_packet_message_by_type():
    (found,) = nfqueue.messages(PACKET)
    assert list(nfqueue.attributes(found.payload[4:])) == [(1, bytes.fromhex("000000010800" "03")),
                                                           (6, bytes.fromhex("00000001"))]


@pytest.mark.parametrize(("netem", "low", "high"), [
    (Netem(50), 0.05, 0.05),
    (Netem(50, 5), 0.045, 0.055),
    (Netem(2, 5), 0.0, 0.007),  # never a negative wait
])
def test_each_packet_waits_the_delay_within_the_jitter(netem, low, high):
    draw = random.Random(54)
    waits = [wait(netem, draw) for _ in range(2000)]
    assert all(w is not None and low <= w <= high for w in waits)
    if netem.jitter:  # uniform: both ends of the range are reached, near enough
        assert min(w for w in waits if w is not None) < low + 0.001
        assert max(w for w in waits if w is not None) > high - 0.001


@pytest.mark.parametrize(("loss", "lost_low", "lost_high"), [
    (0, 0, 0), (50, 900, 1100), (0.1, 0, 10), (100, 2000, 2000),
])
def test_a_share_of_packets_is_lost(loss, lost_low, lost_high):
    draw = random.Random(7)
    lost = sum(wait(Netem(50, 0, loss), draw) is None for _ in range(2000))
    assert lost_low <= lost <= lost_high


def test_held_packets_go_when_due_earliest_first_even_out_of_arrival_order():
    schedule = Schedule()
    assert schedule.timeout(0.0) is None
    for due, packet in [(0.060, 1), (0.050, 2), (0.050, 3), (0.070, 4)]:
        schedule.hold(due, packet)
    assert schedule.timeout(0.010) == pytest.approx(0.040)
    assert schedule.due(0.049) == []
    assert schedule.due(0.055) == [2, 3]  # equal times keep their arrival order
    assert schedule.timeout(0.065) == 0.0  # late already: no negative wait
    assert schedule.due(0.065) == [1]
    assert schedule.release_all() == [4]
    assert schedule.timeout(1.0) is None


def test_the_daemon_takes_exactly_its_options():
    argv = ["--queue", "19818", "--delay", "50", "--jitter", "0", "--loss", "0", "--netns", "", "--ready-fd", "3"]
    assert parse_options(argv)["--delay"] == "50"
    for wrong in (argv[:-2], [*argv, "--extra", "1"], argv[:-1]):
        with pytest.raises(SystemExit, match="usage"):
            parse_options(wrong)


@pytest.mark.parametrize(("text", "pids"), [("", []), ("101", [101]), ("101,102", [101, 102])])
def test_the_namespaces_the_daemon_reads_besides_its_own(text, pids):
    assert namespaces(text) == pids


def test_the_loop_wakes_for_the_earliest_packet_of_any_namespace():
    root, host, idle = Schedule(), Schedule(), Schedule()
    assert next_timeout([root, host, idle], 0.0) is None
    root.hold(0.050, 1)
    host.hold(0.030, 1)  # ids are per queue, so per namespace: the same id in two is two packets
    assert next_timeout([root, host, idle], 0.010) == pytest.approx(0.020)


@pytest.mark.skipif(os.geteuid() != 0, reason="entering a network namespace needs root")
def test_a_call_made_inside_a_namespace_and_the_failures_to_enter_one():
    assert delay_netns.inside("/proc/self/ns/net", lambda: 42) == 42
    with pytest.raises(OSError):
        delay_netns.inside("/proc/self/ns/uts", lambda: 42)  # not a network namespace: setns says EINVAL
    with pytest.raises(FileNotFoundError):
        delay_netns.inside("/proc/4194305/ns/net", lambda: 42)
