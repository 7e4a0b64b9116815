"""Which integration test files may run side by side: files that name a common sandbox host share a group.

Under pytest-xdist the files of one group run in one worker, one after the other (the scheduler in conftest.py), and
different groups in parallel; two tests that converge the same host at once would fight over its lock.
A file names a host as `"node7"` or as `sandbox.hosts[6]` / `sandbox.hosts[:3]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

NODE = re.compile(r"\bnode(\d+)\b")
INDEX = re.compile(r"sandbox\.hosts\[(\d+)\]")
SLICE = re.compile(r"sandbox\.hosts\[(\d*):(\d*)\]")


def hosts_named(text: str, total: int) -> set[int]:
    """The host numbers a file uses, of `total`: `hosts_named('sandbox.hosts[:2]', 9)` is {1, 2}."""
    found = {int(n) for n in NODE.findall(text)}
    found |= {int(i) + 1 for i in INDEX.findall(text)}
    for start, stop in SLICE.findall(text):
        found |= set(range(int(start or 0) + 1, int(stop or total) + 1))
    return found


def groups(files: Mapping[str, str], total: int) -> dict[str, str]:
    """Each file's group: the first (sorted) file name of the files it shares hosts with, directly or not."""
    parent = {name: name for name in files}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    owner: dict[int, str] = {}
    for name in sorted(files):
        for host in hosts_named(files[name], total):
            if host in owner:
                a, b = sorted((root(owner[host]), root(name)))
                parent[b] = a
            else:
                owner[host] = name
    return {name: root(name) for name in files}
