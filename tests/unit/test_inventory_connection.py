"""`connection:` on a host: validated before any connection, the executor's choice, verify over it."""

from __future__ import annotations

import pytest

from configurator.checks.connection import Connection
from configurator.connections.local import LocalSession
from configurator.engine import executor
from configurator.errors import InputError
from configurator.model import inventory
from configurator.model.inventory import Host, Ssh


def load(tmp_path, text: str) -> inventory.Inventory:
    path = tmp_path / "inventory.yml"
    path.write_text(text)
    return inventory.load(path)


def test_a_host_is_reached_over_ssh_unless_it_says_local(tmp_path):
    inv = load(tmp_path, "hosts:\n  web1: {address: 192.0.2.1}\n  here: {connection: local}\n")
    assert inv.hosts["web1"].connection == "ssh"
    assert inv.hosts["here"].connection == "local" and inv.hosts["here"].address == "here"


def test_an_unknown_connection_is_an_input_error_at_its_line(tmp_path):
    with pytest.raises(InputError, match=r"inventory.yml:3: host web1 connection must be ssh or local, got 'telnet'"):
        load(tmp_path, "hosts:\n  web1:\n    connection: telnet\n")


def test_the_executor_opens_a_local_shell_for_a_local_host_or_when_told(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    inv = load(tmp_path, "hosts:\n  here: {connection: local}\n  web1: {address: 192.0.2.1}\n")
    for host, told in ((inv.hosts["here"], ""), (inv.hosts["web1"], "local")):
        session = executor.connect(host, connection=told)
        try:
            assert isinstance(session, LocalSession)
            assert session.run("echo ok").stdout == "ok\n" and session.round_trips == 1
        finally:
            session.close()


def test_verify_checks_a_local_host_on_this_machine(private_dir):
    host = Host("here", "here", Ssh(lock_wait=0), connection="local")
    (private_dir / "probe.txt").write_text("seen\n")
    session = LocalSession(host, state_dir=private_dir / "state")
    try:
        checked = Connection(host, session).host
        assert checked.file(str(private_dir / "probe.txt")).content_string == "seen\n"
        assert checked.run("id -u").stdout.strip() == session.run("id -u").stdout.strip()
    finally:
        session.close()
