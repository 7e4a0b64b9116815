"""Waiting for a host that is still coming up (`--wait SECONDS`): connects retried with exponential
backoff and jitter within one budget, then cloud-init's end awaited in the first script.

The timing is data: a `Clock` (monotonic time and sleep) and a random source are passed in, so a
test can run the whole retry schedule on a fake clock.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from configurator.errors import Unreachable

T = TypeVar("T")
LEAST_TRY = 1.0  # seconds: an attempt given less than this could not even finish a TCP handshake


class Transient(Unreachable):
    """A host that may answer soon: it refused, timed out, had no route, or dropped the handshake."""


class Clock(Protocol):
    """Monotonic time and sleeping (the real ones, or a test's fake)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start."""

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""


class RealClock:
    """The process's monotonic clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts: `first`, times `factor` each time, at most `most`, each shortened by up to
    `jitter` of itself at random (so that many hosts waited for together do not retry in step)."""

    first: float = 0.5
    factor: float = 2.0
    most: float = 8.0
    jitter: float = 0.3

    def delay(self, attempt: int, rand: Callable[[], float]) -> float:
        """The pause after failed attempt number `attempt` (1-based)."""
        base = min(self.most, self.first * self.factor ** (attempt - 1))
        return base * (1.0 - self.jitter * rand())


class GaveUp(Unreachable):
    """The budget ran out; `reasons` holds every attempt's failure, in order."""

    def __init__(self, budget: float, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(f"still unreachable after waiting {budget:g}s ({len(reasons)} attempts): "
                         + "; ".join(folded(reasons)))


def folded(reasons: list[str]) -> list[str]:
    """The reasons in order, runs of the same one written once with their count."""
    runs: list[list[object]] = []
    for reason in reasons:
        if runs and runs[-1][0] == reason:
            runs[-1][1] = int(str(runs[-1][1])) + 1
        else:
            runs.append([reason, 1])
    return [f"{reason} (x{count})" if count != 1 else str(reason) for reason, count in runs]


def retry(attempt: Callable[[float], T], budget: float, clock: Clock | None = None,
          backoff: Backoff = Backoff(), rand: Callable[[], float] = random.random) -> tuple[T, float]:
    """`attempt(seconds_left)` until it does not raise `Transient`, within `budget` seconds overall;
    its result and the seconds left. Any other failure (a wrong host key, a refused login) ends it at once."""
    clock = clock or RealClock()
    deadline = clock.monotonic() + budget
    reasons: list[str] = []
    while True:
        try:
            return attempt(max(LEAST_TRY, deadline - clock.monotonic())), max(0.0, deadline - clock.monotonic())
        except Transient as exc:
            reasons.append(str(exc))
        pause = backoff.delay(len(reasons), rand)
        if clock.monotonic() + pause + LEAST_TRY > deadline:
            raise GaveUp(budget, reasons)
        clock.sleep(pause)


def cloud_init_wait(seconds: float) -> str:
    """Shell lines that wait (at most `seconds`) for cloud-init to finish when it is installed; past that,
    the shell exits with a message, which fails the host with it."""
    limit = max(1, int(seconds))
    return (f"if command -v cloud-init >/dev/null 2>&1; then timeout {limit} cloud-init status --wait "
            f">/dev/null 2>&1; [ $? -ne 124 ] || {{ echo 'cloud-init still running after waiting "
            f"{limit}s (--wait)' >&2; exit 1; }}; fi\n")
