"""Where the transport connects: inventory settings first, then the ssh config; bastions and ProxyCommands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from configurator.connections import route
from configurator.connections import ssh as transport
from configurator.connections.route import Hop
from configurator.errors import InputError
from configurator.model import inventory

CONFIG = """\
Host web1
    HostName 10.0.0.1
    User fromconfig
    Port 2200
    IdentityFile {key}
    IdentityFile {missing}
    ProxyJump jump1,admin@jump2:2022
Host jump1
    HostName 192.0.2.1
    User jumper
Host *
    User everyone
    Port 2222
"""


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "id_config"
    path.write_text("not read by these tests\n")
    return path


@pytest.fixture(autouse=True)
def ssh_config(tmp_path: Path, key: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ssh_config"
    path.write_text(CONFIG.format(key=key, missing=tmp_path / "no-such-key"))
    monkeypatch.setenv(route.SSH_CONFIG_ENV, str(path))
    return path


def host(tmp_path: Path, text: str, name: str = "web1") -> inventory.Host:
    path = tmp_path / "inv.yml"
    path.write_text(text)
    return inventory.load(path).hosts[name]


def test_the_ssh_config_fills_in_what_the_inventory_leaves_out(tmp_path, key):
    way = route.route(host(tmp_path, "hosts: {web1: }\n"))
    assert way.target == Hop("10.0.0.1", 2200, "fromconfig")
    assert way.identities == (str(key),) and way.agent  # a missing IdentityFile is skipped, as ssh does
    assert way.hops[:-1] == (Hop("192.0.2.1", 2222, "jumper"), Hop("jump2", 2022, "admin"))
    assert way.proxy_command is None


def test_a_bastion_named_only_by_host_takes_the_targets_user_when_the_config_has_none(tmp_path, ssh_config):
    ssh_config.write_text("")
    way = route.route(host(tmp_path, "ssh: {user: deploy}\nhosts: {web1: {gateway: bastion.lab}}\n"))
    assert way.hops == (Hop("bastion.lab", 22, "deploy"), Hop("web1", 22, "deploy"))


def test_the_inventory_wins_even_when_it_sets_the_default_value(tmp_path):
    text = "ssh: {user: root, port: 22, identity: keys/id}\nhosts: {web1: {gateway: none}}\n"
    way = route.route(host(tmp_path, text))
    assert way.hops == (Hop("10.0.0.1", 22, "root"),)
    assert way.identities == (str(tmp_path / "keys" / "id"),) and not way.agent  # only the key it names


def test_an_address_in_the_inventory_is_used_as_it_is(tmp_path):
    way = route.route(host(tmp_path, "hosts: {web1: {address: 10.9.9.9, port: 22}}\n"))
    assert way.target.address == "10.9.9.9"
    assert way.target.user == "everyone"  # the config is looked up under the address, as `ssh 10.9.9.9` would


def test_a_host_the_config_does_not_name_gets_only_its_wildcards(tmp_path):
    way = route.route(host(tmp_path, "hosts: {db1: {address: 10.0.0.3}}\n", "db1"))
    assert way == route.Route((Hop("10.0.0.3", 2222, "everyone"),))  # agent and default keys, as before


def test_without_an_ssh_config_the_inventory_defaults_apply(tmp_path, monkeypatch):
    monkeypatch.setenv(route.SSH_CONFIG_ENV, str(tmp_path / "absent"))
    way = route.route(host(tmp_path, "hosts: {web1: }\n"))
    assert way == route.Route((Hop("web1", 22, "root"),))


@pytest.mark.parametrize("gateway, hops", [
    ("ops@bastion.lab:2022", [Hop("bastion.lab", 2022, "ops")]),
    ("bastion.lab", [Hop("bastion.lab", 2222, "everyone")]),  # user and port from `Host *`, as ssh would
    ("ssh://ops@[2001:db8::1]:22", [Hop("2001:db8::1", 22, "ops")]),
    ("jump1,b:23", [Hop("192.0.2.1", 2222, "jumper"), Hop("b", 23, "everyone")]),
])
def test_a_gateway_without_spaces_is_a_chain_of_bastions(tmp_path, gateway, hops):
    way = route.route(host(tmp_path, f"ssh: {{user: deploy}}\nhosts: {{web1: {{gateway: '{gateway}'}}}}\n"))
    assert list(way.hops[:-1]) == hops
    assert way.target == Hop("10.0.0.1", 2200, "deploy")


def test_a_gateway_with_a_space_is_a_proxy_command(tmp_path):
    way = route.route(host(tmp_path, "hosts: {web1: {gateway: 'ssh -W %h:%p bastion'}}\n"))
    assert way.proxy_command == "ssh -W %h:%p bastion" and len(way.hops) == 1


def test_a_proxy_command_from_the_ssh_config_is_used_when_there_is_no_proxy_jump(tmp_path, ssh_config):
    ssh_config.write_text("Host web1\n    ProxyCommand nc -X connect -x proxy:3128 %h %p\n")
    way = route.route(host(tmp_path, "hosts: {web1: }\n"))
    assert way.proxy_command == "nc -X connect -x proxy:3128 web1 22"


@pytest.mark.parametrize("gateway", ["ops@", "-oProxyCommand=x", "a@b@c", "host:99999", "host:ssh"])
def test_a_bad_gateway_is_an_input_error(tmp_path, gateway):
    with pytest.raises(InputError):
        route.route(host(tmp_path, f"hosts: {{web1: {{gateway: '{gateway}'}}}}\n"))


def test_an_unparsable_ssh_config_is_an_input_error_naming_the_file(tmp_path, ssh_config):
    ssh_config.write_text("Host web1\nnot-a-keyword-and-value\n")
    with pytest.raises(InputError, match=str(ssh_config)):
        route.route(host(tmp_path, "hosts: {web1: }\n"))


def test_the_inventory_records_which_ssh_keys_it_set(tmp_path):
    inv_path = tmp_path / "inv.yml"
    inv_path.write_text("ssh: {user: root}\nhosts: {a: {port: 22}, b: }\n")
    hosts = inventory.load(inv_path).hosts
    assert hosts["a"].ssh.given == {"user", "port"}
    assert hosts["b"].ssh.given == {"user"}


@pytest.mark.parametrize(("command", "expanded"), [
    ("ssh -W %h:%p bastion", "ssh -W 198.18.0.20:2222 bastion"),
    ("nc -X connect -x proxy:3128 %h %p", "nc -X connect -x proxy:3128 198.18.0.20 2222"),
    ("ssh -l %r -W %h:%p jump", "ssh -l deploy -W 198.18.0.20:2222 jump"),
])
def test_a_proxy_command_gets_the_hops_address_port_and_user(command, expanded):
    assert transport.proxy_command(command, route.Hop("198.18.0.20", 2222, "deploy")) == expanded


def test_an_ssh_config_match_exec_still_runs_its_command(tmp_path, ssh_config):
    # paramiko is imported without invoke (start-up time); invoke must still load for `Match exec`.
    # In a child process: invoke mirrors stdin, which pytest's capture forbids.
    ssh_config.write_text('Match exec "test 1 = 1"\n    User fromexec\n')
    (tmp_path / "inv.yml").write_text("hosts: {web1: {address: 198.18.0.20}}\n")
    code = ("import sys; from pathlib import Path; from configurator.model import inventory; "
            "from configurator.connections import route; "
            "print(route.route(inventory.load(Path(sys.argv[1])).hosts['web1']).hops[-1].user, "
            "'invoke' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "inv.yml")], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=True)
    assert done.stdout.split() == ["fromexec", "True"]


def test_paramiko_is_imported_without_invoke():
    code = "import sys, configurator.cli.commands; print('paramiko' in sys.modules, 'invoke' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False"]
