"""One template context: a `when:` on facts may use every name a template sees (regression on a real host)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.engine_helpers import configure, sh, write_inventory

pytestmark = pytest.mark.integration


def test_a_condition_on_facts_and_the_host_name_converges_and_verifies(sandbox, tmp_path: Path):
    host = sandbox.host("node21")
    sh(host, "rm -rf /srv/context")
    arch = sh(host, "uname -m").strip()  # the facts a run reads only when a `when` names facts: arch, user
    inventory = write_inventory(sandbox, tmp_path / "inv.yml",
                                {"ctx": {"hosts": [host.name], "roles": ["context_demo"]}, "others": {"hosts": []}},
                                {host.name: {"vars": {"target_name": host.name, "expected_arch": arch}}})
    code, report = configure("apply", inventory, report=tmp_path / "apply.json")
    assert code == 0, report
    assert sh(host, "cat /srv/context/debian-and-me") == f"{host.name} at {host.address}\n"
    assert sh(host, "test ! -e /srv/context/someone-else && echo absent") == "absent\n"
    assert sh(host, "cat /srv/context/root-here") == f"{arch}\n"
    again = configure("apply", inventory, report=tmp_path / "again.json")[1]
    assert again is not None and [s["status"] for s in again["hosts"][0]["steps"]] == ["ok", "ok", "ok"]
    assert configure("verify", inventory)[0] == 0


def test_configure_facts_shows_every_fact(sandbox, tmp_path: Path, capsys):
    host = sandbox.host("node21")
    inventory = write_inventory(sandbox, tmp_path / "inv.yml", {"ctx": {"hosts": [host.name], "roles": []}}, {})
    capsys.readouterr()
    assert configure("facts", inventory, host.name)[0] == 0
    shown = dict(line.split(" = ", 1) for line in capsys.readouterr().out.splitlines())
    assert (shown["user"], shown["arch"], shown["hostname"]) == ("root", sh(host, "uname -m").strip(),
                                                                 sh(host, "hostname").strip())
    assert shown["os_id"] == "debian" and shown["init"] == "systemd" and "@" in shown["boot"]
