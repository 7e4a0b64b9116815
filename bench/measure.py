"""Run one command and measure it as a whole process tree: wall time, CPU, memory.

CPU (user+sys) and the largest resident set come from `os.wait4`, i.e. the same numbers as
`/usr/bin/time -v` ("Maximum resident set size" is the largest single process of the tree).
With `sample=True` a thread also sums the RSS of the whole tree every 20 ms (Ansible forks
workers and ssh processes, so its tree is bigger than its largest process).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_EVERY = 0.02


@dataclass(frozen=True)
class Measured:
    """One timed run of a command."""

    seconds: float
    cpu: float  # user + sys of the process and every descendant it waited for
    max_rss_mb: float  # the largest single process of the tree
    tree_rss_mb: float  # the largest sampled sum over the tree (0 when not sampled)
    code: int
    log: Path

    @property
    def ok(self) -> bool:
        return self.code == 0

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


class TreeSampler(threading.Thread):
    """Sum of RSS over a process and its descendants; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.done.wait(SAMPLE_EVERY):
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    total += proc.memory_info().rss
            except psutil.Error:
                continue
            self.peak = max(self.peak, total)


def run(argv: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None,
        sample: bool = False) -> Measured:
    """Run `argv` with output to `log`; measure it from fork to exit."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd)
        sampler = TreeSampler(proc.pid) if sample else None
        if sampler:
            sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    if sampler:
        sampler.done.set()
        sampler.join()
    return Measured(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                    (sampler.peak / 2**20) if sampler else 0.0, proc.returncode, log)


def median(values: list[float]) -> float:
    """The median (the mean of the middle two for an even count)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
