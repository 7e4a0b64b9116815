"""The load_balancer role rendered for an inventory (no host): HAProxy's configuration as text."""

from __future__ import annotations

from pathlib import Path

import pytest

from configurator.errors import InputError
from configurator.model import inventory
from configurator.model.catalog import build_catalog
from configurator.model.variables import parse_cli_vars
from configurator.resources.file import File

INVENTORY = """\
hosts:
  lb1: {address: 198.18.0.35}
  web1: {address: 198.18.0.36}
  web2: {address: 198.18.0.37, vars: {app_http_port: 8080}}
groups:
  lb: {hosts: [lb1], roles: [load_balancer]}
  apps: {hosts: [web1, web2], roles: [app_runtime], vars: {app_health_path: /health}}
"""


def rendered(tmp_path: Path, *cli: str, text: str = INVENTORY) -> dict[str, File]:
    """path -> file resource of the balancer's catalog."""
    path = tmp_path / "inventory.yml"
    path.write_text(text)
    inv = inventory.load(path)
    cat = build_catalog(inv.hosts["lb1"], inv, parse_cli_vars(list(cli)))
    return {e.resource.path: e.resource for e in cat.entries if isinstance(e.resource, File)}


def config(tmp_path: Path, *cli: str, text: str = INVENTORY) -> list[str]:
    return [line.strip() for line in rendered(tmp_path, *cli, text=text)["/etc/haproxy/haproxy.cfg"]
            .content.decode().splitlines()]


def test_config_is_checked_by_haproxy_before_it_replaces_the_live_one(tmp_path):
    files = rendered(tmp_path)
    assert files["/etc/haproxy/haproxy.cfg"].validator == ("haproxy", "-c", "-f", "%s")
    assert (files["/usr/local/sbin/lb-server"].mode, files["/usr/local/sbin/lb-server"].owner) == ("0755", "root")


def test_a_backend_is_the_group_on_each_hosts_app_port_with_health_checks(tmp_path):
    lines = config(tmp_path)
    assert "server web1 198.18.0.36:80" in lines
    assert "server web2 198.18.0.37:8080" in lines
    assert "http-check send meth GET uri /health ver HTTP/1.1 hdr Host app" in lines
    assert "http-check expect status 200" in lines
    assert "default-server check inter 1s rise 2 fall 2" in lines
    assert lines[lines.index("frontend app") + 1] == "bind *:80"
    assert "default_backend app" in lines


def test_runtime_api_is_root_only_and_reloads_keep_connections(tmp_path):
    lines = config(tmp_path)
    assert "stats socket /run/haproxy/api.sock mode 600 level admin" in lines
    assert "master-worker" in lines and "option idle-close-on-response" in lines


@pytest.mark.parametrize(("cli", "wanted"), [
    (('lb_backends=[{"name": "web", "group": "apps", "port": 81, "health_path": "/up"}]',),
     ["backend web", "server web1 198.18.0.36:81", "server web2 198.18.0.37:81",
      "http-check send meth GET uri /up ver HTTP/1.1 hdr Host web"]),
    (('lb_frontends=[{"name": "www", "bind": ["198.18.0.35:80", ":8443"], "backend": "app"}]',),
     ["frontend www", "bind 198.18.0.35:80", "bind :8443"]),
    (("lb_health_path=/ping",), ["http-check send meth GET uri /ping ver HTTP/1.1 hdr Host app"]),
])
def test_frontends_and_backends_from_variables(tmp_path, cli, wanted):
    lines = config(tmp_path, *cli)
    assert [w for w in wanted if w not in lines] == []


def test_a_backend_naming_no_group_is_bad_input(tmp_path):
    with pytest.raises(InputError):
        config(tmp_path, 'lb_backends=[{"name": "app", "group": "nosuch"}]')
