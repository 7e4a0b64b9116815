"""Distance on demand: a round trip of MS milliseconds added between this machine and some sandbox hosts.

`configure sandbox netem --delay MS/2 --hosts ...` makes it (half each way; on a kernel without the
netem qdisc a userspace delay, see docs/scale.md); `delayed` takes it off again however the block ends:
normally, on an error, on Ctrl-C or on SIGTERM.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from types import FrameType

from measure import median


def each_way(round_trip_ms: float) -> str:
    """The one-way delay `sandbox netem --delay` takes for this round trip: 100 -> `50ms`."""
    return f"{round_trip_ms / 2:g}ms"


def netem_argv(configure: str, names: list[str], round_trip_ms: float) -> list[str]:
    """Set the delay on these hosts, or clear it when `round_trip_ms` is 0."""
    spec = ["--delay", each_way(round_trip_ms)] if round_trip_ms > 0 else ["--clear"]
    return [configure, "sandbox", "netem", *spec, "--hosts", ",".join(names)]


def _netem(argv: list[str]) -> None:
    # a session of its own: a Ctrl-C at the terminal must not stop the clearing half-way
    done = subprocess.run(argv, capture_output=True, text=True, check=False, start_new_session=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: `{' '.join(argv)}` failed: {(done.stderr or done.stdout).strip()}")


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _ignore(signum: int, frame: FrameType | None) -> None:
    """A second Ctrl-C while the delay is being cleared: clear anyway."""


def clear(configure: str, names: list[str]) -> None:
    """Take the delay off these hosts, shielded from Ctrl-C (clearing a host without one is no error)."""
    previous = signal.signal(signal.SIGINT, _ignore)
    try:
        _netem(netem_argv(configure, names, 0))
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def delayed(configure: str, names: list[str], round_trip_ms: float) -> Iterator[None]:
    """The delay on `names` for the block (nothing when 0); always cleared at its end."""
    if round_trip_ms <= 0:
        yield
        return
    previous = signal.signal(signal.SIGTERM, _stop)  # a `kill` ends the block like Ctrl-C: cleared too
    try:
        _netem(netem_argv(configure, names, round_trip_ms))
        yield
    finally:
        try:
            clear(configure, names)
        finally:
            signal.signal(signal.SIGTERM, previous)


def connect_ms(address: str, port: int = 22, tries: int = 5, timeout: float = 10.0) -> float:
    """The median time of a TCP connect (one round trip) to address:port, in milliseconds."""
    times = []
    for _ in range(tries):
        started = time.perf_counter()
        with socket.create_connection((address, port), timeout=timeout):
            times.append((time.perf_counter() - started) * 1000)
    return median(times)
