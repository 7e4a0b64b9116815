"""The testinfra backend over the engine's connection: sudo without a terminal when the inventory asks."""

from __future__ import annotations

import pytest

from configurator.checks.connection import _Backend
from configurator.model.inventory import Host, Ssh


@pytest.mark.parametrize(("ssh", "password", "command"), [
    (Ssh(user="root", become=True), None, "id -u"),
    (Ssh(user="deploy"), None, "id -u"),
    (Ssh(user="deploy", become=True), None, "sudo -n /bin/sh -c 'id -u'"),
    (Ssh(user="deploy", become=True), "pw", "sudo -S -p '' /bin/sh -c 'id -u'"),
])
def test_commands_run_through_sudo_only_when_asked(ssh, password, command):
    backend = _Backend(None, Host("h", "198.18.0.19", ssh), password, ssh.user)
    assert backend.get_command("id -u") == command


def test_the_backend_uses_the_given_client_and_never_opens_its_own():
    client = object()
    backend = _Backend(client, Host("h", "198.18.0.19", Ssh(port=2222)), None, "root")
    assert backend.client is client
    assert (backend.host.name, backend.host.port, backend.host.user) == ("198.18.0.19", "2222", "root")


def test_sudo_follows_the_user_actually_logged_in_as():
    # the inventory names no user (root by default) but ~/.ssh/config logged in as deploy
    backend = _Backend(None, Host("h", "198.18.0.19", Ssh(become=True)), None, "deploy")
    assert backend.get_command("id -u") == "sudo -n /bin/sh -c 'id -u'"
