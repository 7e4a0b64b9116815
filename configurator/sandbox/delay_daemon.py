"""The userspace delay: a program that holds each queued packet for its delay, then lets it go (or drops it).

Run as `python -I -m configurator.sandbox.delay_daemon --queue Q --delay MS --jitter MS --loss PCT
--netns PID,PID --ready-fd FD` (see userspace_delay.py, which starts and stops it). It binds
nfnetlink_queue Q in its own network namespace and in that of each PID (queues are per namespace: what
the machine sends to a host is held in the host's; delay_rules.py says why), reads each packet's id,
draws its wait (delay ± jitter, uniform) or its loss, and gives the verdict, on the socket the packet
came from, when the time comes: a heap of due times beside each socket, all in one selector loop. With
jitter, verdicts go out of order, as netem's packets do. On SIGTERM it lets every held packet go at once and exits.
"""

from __future__ import annotations

import heapq
import os
import random
import selectors
import signal
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from . import delay_netns, nfqueue
from .netem import Netem

MAXLEN = 65536  # packets held at once; a full queue fails open (see nfqueue.bind)
RECEIVE_BUFFER = 16 << 20  # bursts of packet messages wait here while a verdict goes out
BATCH = 256  # verdicts per send
READS = 1024  # packet messages read before the due verdicts go out again, so a flood cannot starve them
OPTIONS = ("--queue", "--delay", "--jitter", "--loss", "--netns", "--ready-fd")


def wait(setting: Netem, draw: random.Random) -> float | None:
    """How long (seconds) one packet waits, or None when it is lost."""
    if setting.loss and draw.random() * 100.0 < setting.loss:
        return None
    spread = draw.uniform(-setting.jitter, setting.jitter) if setting.jitter else 0.0
    return max(0.0, setting.delay + spread) / 1000.0


@dataclass
class Schedule:
    """Held packets by due time (monotonic seconds); the count keeps equal times in arrival order."""

    held: list[tuple[float, int, int]] = field(default_factory=list)
    count: int = 0

    def hold(self, due: float, packet_id: int) -> None:
        """Hold a packet until `due`."""
        self.count += 1
        heapq.heappush(self.held, (due, self.count, packet_id))

    def due(self, now: float) -> list[int]:
        """The ids whose time has come, earliest first; they are no longer held."""
        ready = []
        while self.held and self.held[0][0] <= now:
            ready.append(heapq.heappop(self.held)[2])
        return ready

    def timeout(self, now: float) -> float | None:
        """Seconds until the next packet is due (None: nothing held)."""
        return max(0.0, self.held[0][0] - now) if self.held else None

    def release_all(self) -> list[int]:
        """Every held id, earliest first (at exit)."""
        ready = [entry[2] for entry in sorted(self.held)]
        self.held.clear()
        return ready


def next_timeout(schedules: Iterable[Schedule], now: float) -> float | None:
    """Seconds until the next packet of any schedule is due (None: nothing held anywhere)."""
    found = [t for t in (s.timeout(now) for s in schedules) if t is not None]
    return min(found) if found else None


def namespaces(text: str) -> list[int]:
    """The PIDs of `--netns 101,102` (empty: the daemon's own namespace only)."""
    return [int(pid) for pid in text.split(",") if pid.strip()]


def parse_options(argv: Sequence[str]) -> dict[str, str]:
    """`--name value` pairs of the fixed command line (every option required, nothing else)."""
    pairs = dict(zip(argv[::2], argv[1::2], strict=False))
    if len(argv) % 2 or sorted(pairs) != sorted(OPTIONS):
        raise SystemExit(f"usage: delay_daemon {' '.join(o + ' VALUE' for o in OPTIONS)}")
    return pairs


def open_queue(queue: int) -> socket.socket:
    """A netfilter netlink socket bound to `queue`, with a large receive buffer (raises OSError on refusal)."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, nfqueue.NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, nfqueue.SO_RCVBUFFORCE, RECEIVE_BUFFER)
    sock.setsockopt(nfqueue.SOL_NETLINK, nfqueue.NETLINK_NO_ENOBUFS, 1)
    sock.bind((0, 0))
    sock.sendto(nfqueue.bind(queue, MAXLEN, sequence=1), (0, 0))
    for _ in range(MAXLEN):  # packets may come before the acknowledgement: they go on at once
        found = list(nfqueue.messages(sock.recv(65536)))
        send(sock, queue, [p for p in map(nfqueue.packet_id, found) if p is not None])
        codes = [c for c in map(nfqueue.error, found) if c is not None]
        if codes and codes[0]:
            raise OSError(codes[0], f"binding nfnetlink queue {queue}: {os.strerror(codes[0])}")
        if codes:
            break
    sock.setblocking(False)
    return sock


def send(sock: socket.socket, queue: int, ids: Sequence[int], accept: bool = True) -> None:
    """Give the verdicts, BATCH to a datagram (a refused send is logged: the daemon carries on)."""
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        try:
            sock.sendto(nfqueue.verdicts(queue, batch, accept), (0, 0))
        except OSError as exc:
            print(f"verdicts for {len(batch)} packets not sent: {exc}", file=sys.stderr, flush=True)


def read(sock: socket.socket, queue: int, setting: Netem, schedule: Schedule, draw: random.Random) -> int:
    """Take every packet message waiting on the socket into the schedule; drop the lost ones and count them."""
    lost = []
    for _ in range(READS):
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            break
        now = time.monotonic()
        for found in nfqueue.messages(data):
            packet = nfqueue.packet_id(found)
            if packet is None:
                report(found)
                continue
            pause = wait(setting, draw)
            if pause is None:
                lost.append(packet)
            else:
                schedule.hold(now + pause, packet)
    send(sock, queue, lost, accept=False)
    return len(lost)


def report(found: nfqueue.Message) -> None:
    """Say in the log what an unexpected message was (a verdict the kernel refused, mostly)."""
    code = nfqueue.error(found)
    if code:
        print(f"kernel error {code} ({os.strerror(code)}) for message {found.sequence}", file=sys.stderr, flush=True)


def serve(socks: Sequence[socket.socket], queue: int, setting: Netem, stop: socket.socket) -> None:
    """Hold and release packets until a byte arrives on `stop`, then release the held ones."""
    schedules, draw, lost = {sock: Schedule() for sock in socks}, random.Random(), 0
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ, sock)
        selector.register(stop, selectors.EVENT_READ)
        while True:
            events = selector.select(next_timeout(schedules.values(), time.monotonic()))
            if any(key.fileobj is stop for key, _ in events):
                break
            for key, _ in events:
                lost += read(key.data, queue, setting, schedules[key.data], draw)
            now = time.monotonic()
            for sock, schedule in schedules.items():
                send(sock, queue, schedule.due(now))
    held = [(sock, schedule.release_all()) for sock, schedule in schedules.items()]
    for sock, ids in held:
        send(sock, queue, ids)
    print(f"stopped: {sum(s.count for s in schedules.values())} packets delayed "
          f"({sum(len(ids) for _, ids in held)} let go early at the stop), {lost} lost", flush=True)


def open_queues(queue: int, pids: Sequence[int]) -> list[socket.socket]:
    """The queue's socket in the daemon's own namespace, then one in each namespace still there."""
    socks = [open_queue(queue)]
    for pid in pids:
        try:
            socks.append(delay_netns.inside(delay_netns.path(pid), lambda: open_queue(queue)))
        except FileNotFoundError:  # the host went down since the command looked
            print(f"no network namespace of PID {pid} any more: skipped", file=sys.stderr, flush=True)
    return socks


def main(argv: Sequence[str]) -> int:
    """Bind the queue, say ready on the given descriptor, serve until SIGTERM or SIGINT."""
    options = parse_options(argv)
    queue = int(options["--queue"])
    setting = Netem(float(options["--delay"]), float(options["--jitter"]), float(options["--loss"]))
    stop, wake = socket.socketpair()
    wake.setblocking(False)
    signal.set_wakeup_fd(wake.fileno())
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)  # the wakeup byte ends the loop
    try:
        socks = open_queues(queue, namespaces(options["--netns"]))
    except OSError as exc:
        print(f"delay daemon: {exc}", file=sys.stderr, flush=True)
        return 1
    ready = int(options["--ready-fd"])
    os.write(ready, b"ready\n")
    os.close(ready)
    print(f"queue {queue} in {len(socks)} namespace(s): delay {setting.delay:g} ms, jitter {setting.jitter:g} ms, "
          f"loss {setting.loss:g}%", flush=True)
    serve(socks, queue, setting, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
