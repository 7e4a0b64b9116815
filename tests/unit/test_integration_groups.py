"""Integration test files that share a sandbox host never run side by side."""

from __future__ import annotations

import pytest

from tests.integration.groups import groups, hosts_named


@pytest.mark.parametrize(("text", "expected"), [
    ('host = sandbox.host("node7")', {7}),
    ("bastion, target = sandbox.hosts[10], sandbox.hosts[11]", {11, 12}),
    ("for host in sandbox.hosts[:3]:", {1, 2, 3}),
    ("sandbox.hosts[57:]", {58, 59}),
    ("node10 and node1", {1, 10}),
    ("hosts[0]  # a report's list, not the sandbox's", set()),
    ("nodes = 3", set()),
])
def test_hosts_named(text: str, expected: set[int]) -> None:
    assert hosts_named(text, 59) == expected


def test_files_sharing_a_host_directly_or_not_share_a_group() -> None:
    files = {"a.py": '"node1" "node2"', "b.py": "sandbox.hosts[1]", "c.py": '"node9"', "d.py": '"node9" "node40"',
             "e.py": '"node41"'}
    assert groups(files, 59) == {"a.py": "a.py", "b.py": "a.py", "c.py": "c.py", "d.py": "c.py", "e.py": "e.py"}
