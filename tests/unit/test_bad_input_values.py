"""Bad values that used to crash or slip through: one line with file:line, exit 65, before any connection."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from configurator.cli import commands as cli
from configurator.engine.executor import HostResult
from configurator.model import inventory as inventory_mod
from configurator.model import loader
from configurator.model.catalog import build_catalog
from configurator.model.variables import parse_cli_vars
from configurator.output import planview, report

HOST = "198.18.0.250"  # nothing answers here: a connection attempt would exit 3, not 65
GROUP = "groups:\n  web: {hosts: [web1], roles: [r]%s}\n"
TEMPLATE_ROLE = "resources:\n  - template: {path: /etc/x, src: t.j2}\n"


def write_case(root: Path, hosts: str, group: str = "", role: str = "resources: []\n",
               template: str = "") -> Path:
    """A role `r` (with templates/t.j2) and an inventory whose group `web` holds web1."""
    folder = root / "roles" / "r"
    (folder / "templates").mkdir(parents=True)
    (folder / "role.yml").write_text(role)
    (folder / "templates" / "t.j2").write_text(template)
    path = root / "inventory.yml"
    path.write_text("roles_path: [roles]\nvars: {m: {a: 1, b: [x, y]}}\nhosts:\n" + hosts + GROUP % group)
    return path


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["check", str(path)])
    return code, capsys.readouterr().err.strip()


WEB1 = f"  web1: {{address: {HOST}}}\n"
# name: (hosts, group extras, where, message)
INVENTORY_CASES = {
    "max_fail text": (WEB1, ", max_fail: x", "inventory.yml:6", "max_fail must be a whole number"),
    "max_fail list": (WEB1, ", max_fail: [1]", "inventory.yml:6", "max_fail must be a whole number"),
    "max_fail negative": (WEB1, ", max_fail: -3", "inventory.yml:6", "max_fail must be 0 or more"),
    "max_fail fraction": (WEB1, ", max_fail: 1.9", "inventory.yml:6", "max_fail must be a whole number"),
    "serial zero": (WEB1, ", serial: 0", "inventory.yml:6", "serial must be 1 or more"),
    "port too large": (f"  web1: {{address: {HOST}, port: 99999}}\n", "", "inventory.yml:4",
                       "port must be 1 to 65535"),
    "port negative": (f"  web1: {{address: {HOST}, port: -1}}\n", "", "inventory.yml:4", "port must be 1 to 65535"),
    "timeout negative": (f"  web1: {{address: {HOST}, connect_timeout: -5}}\n", "", "inventory.yml:4",
                         "connect_timeout must be a number of seconds above 0"),
    "timeout nan": (f"  web1: {{address: {HOST}, connect_timeout: .nan}}\n", "", "inventory.yml:4",
                    "connect_timeout must be a number of seconds above 0"),
    "command timeout infinite": (f"  web1: {{address: {HOST}, command_timeout: .inf}}\n", "", "inventory.yml:4",
                                 "command_timeout must be a number of seconds above 0"),
    "lock_wait negative": (f"  web1: {{address: {HOST}, lock_wait: -1}}\n", "", "inventory.yml:4",
                           "lock_wait must be a number of seconds"),
    "address with a command": ("  web1: {address: '$(touch${IFS}/tmp/cfg-injected)'}\n", "", "inventory.yml:4",
                               "is not a host name or an IP address"),
    "address with an empty label": ("  web1: {address: 'a..b'}\n", "", "inventory.yml:4",
                                         "is not a host name or an IP address"),
    "address starting with -": ("  web1: {address: '-oProxyCommand=x'}\n", "", "inventory.yml:4",
                                "is not a host name or an IP address"),
    "gateway option": (f"  web1: {{address: {HOST}, gateway: '-oProxyCommand=touch /tmp/x'}}\n", "",
                       "inventory.yml:4", "must not start with '-'"),
    "gateway jump option": (f"  web1: {{address: {HOST}, gateway: '-oProxyCommand=x'}}\n", "",
                            "inventory.yml:4", "must not start with '-'"),
    "gateway jump host": (f"  web1: {{address: {HOST}, gateway: 'root@$(id)'}}\n", "",
                          "inventory.yml:4", "is not a host name or an IP address"),
    "gateway jump port": (f"  web1: {{address: {HOST}, gateway: 'bastion:99999'}}\n", "",
                          "inventory.yml:4", "port"),
    "user starting with -": (f"  web1: {{address: {HOST}, user: '-oops'}}\n", "", "inventory.yml:4",
                             "user '-oops' is not a valid user name"),
    "user with a command": (f"  web1: {{address: {HOST}, user: '$(id)'}}\n", "", "inventory.yml:4",
                            "user '$(id)' is not a valid user name"),
}


@pytest.mark.parametrize("name", list(INVENTORY_CASES))
def test_bad_inventory_values_exit_65_with_location(name, tmp_path, capsys):
    hosts, group, where, message = INVENTORY_CASES[name]
    code, err = check(write_case(tmp_path, hosts, group), capsys)
    assert code == 65, err
    assert len(err.splitlines()) == 1, err
    assert where in err and message in err, err


def test_an_address_holding_a_command_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "ran"
    code, err = check(write_case(tmp_path, f"  web1: {{address: '$(touch${{IFS}}{marker})', gateway: "
                                           "'sh -c \"nc %h %p\"'}\n"), capsys)
    assert code == 65 and "inventory.yml:4" in err
    assert not marker.exists()


@pytest.mark.parametrize("address", [HOST, "web1.example.org", "node-1", "2001:db8::1", "::1",
                                     "localhost", "a" * 63 + ".example"])
def test_good_addresses_load(address, tmp_path):
    inv = inventory_mod.load(write_case(tmp_path, f"  web1: {{address: '{address}'}}\n"))
    assert inv.hosts["web1"].address == address


@pytest.mark.parametrize(("extra", "serial", "max_fail"), [("", None, 0), (", serial: null, max_fail: null", None, 0),
                                                           (", serial: 2, max_fail: 1", 2, 1)])
def test_good_group_counts_load(extra, serial, max_fail, tmp_path):
    group = inventory_mod.load(write_case(tmp_path, WEB1, extra)).groups["web"]
    assert (group.serial, group.max_fail) == (serial, max_fail)


@pytest.mark.parametrize("gateway", ["bastion", "admin@bastion:2222,jump2", "[2001:db8::1]:22",
                                     "ssh -W %h:%p bastion", "none"])
def test_good_gateways_load(gateway, tmp_path):
    inv = inventory_mod.load(write_case(tmp_path, f"  web1: {{address: {HOST}, gateway: '{gateway}'}}\n"))
    assert inv.hosts["web1"].ssh.gateway == gateway


# name: (role text, template text, where, message)
TEMPLATE_CASES = {
    "division by zero": (TEMPLATE_ROLE, "a\n{{ 1/0 }}\n", "t.j2:2", "division by zero"),
    "int plus text": (TEMPLATE_ROLE, "a\nb\n{{ 1 + 'a' }}\n", "t.j2:3", "unsupported operand"),
    "wordwrap 0": (TEMPLATE_ROLE, "{{ 'a'|wordwrap(0) }}\n", "t.j2:1", "invalid width 0"),
    "huge range": (TEMPLATE_ROLE, "a\n{{ range(200000)|list }}\n", "t.j2:2", "Range too big"),
    "huge repeat": (TEMPLATE_ROLE, "{{ 'a' * 100000000000 }}\n", "t.j2:1", "too large"),
    "huge power": (TEMPLATE_ROLE, "{{ 2 ** 1000000000 }}\n", "t.j2:1", "too large"),
    "runtime error in an argument": ("resources:\n  - package: {name: '{{ 1/0 }}'}\n", "", "role.yml:2",
                                     "division by zero"),
    "runtime error in a condition": ("resources:\n  - package: {name: pk}\n    when: '1 + \"a\"'\n", "",
                                     "role.yml:2", "unsupported operand"),
    "runtime error in a text argument": ("resources:\n  - file: {path: /etc/x, content: 'x {{ [] + 1 }}'}\n", "",
                                         "role.yml:2", "can only concatenate"),
    "package version with an option": ("resources:\n  - package: {name: pk, version: '1.0 --x'}\n", "",
                                       "role.yml:2", "not a Debian version"),
    "package version with a leading letter": ("resources:\n  - package: {name: pk, version: 'v1'}\n", "",
                                              "role.yml:2", "not a Debian version"),
}


@pytest.mark.parametrize("name", list(TEMPLATE_CASES))
def test_template_runtime_errors_exit_65_with_location(name, tmp_path, capsys):
    role, template, where, message = TEMPLATE_CASES[name]
    code, err = check(write_case(tmp_path, WEB1, role=role, template=template), capsys)
    assert code == 65, err
    assert len(err.splitlines()) == 1, err
    assert where in err and message in err, err
    assert re.search(r"\S+:\d+: ", err), err


@pytest.mark.parametrize("version", ["1.0", "1:2.3-4", "2.36-9+deb12u4", "1.0~rc1", "7:4.4.1-3+b1", "0.9+git20200101"])
def test_good_package_versions_load(version, tmp_path):
    path = write_case(tmp_path, WEB1, role=f"resources:\n  - package: {{name: pk, version: '{version}'}}\n")
    inv = inventory_mod.load(path)
    assert build_catalog(inv.hosts["web1"], inv, parse_cli_vars([])).entries[0].resource.version == version


def test_to_yaml_renders_collections_from_vars(tmp_path):
    path = write_case(tmp_path, WEB1, role=TEMPLATE_ROLE, template="{{ m | to_yaml }}{{ m.b | to_yaml }}")
    inv = inventory_mod.load(path)
    catalog = build_catalog(inv.hosts["web1"], inv, parse_cli_vars([]))
    assert catalog.entries[0].resource.content == b"a: 1\nb:\n- x\n- y\n- x\n- y\n"


def test_nul_byte_in_an_inventory_is_one_line_with_its_line(tmp_path, capsys):
    path = write_case(tmp_path, f"  web1: {{address: {HOST}}}\n  web2: {{address: \0}}\n")
    code, err = check(path, capsys)
    assert code == 65 and len(err.splitlines()) == 1, err
    assert "inventory.yml:5" in err and "NUL" in err, err


@pytest.mark.parametrize("which", ["inventory", "vars file"])
def test_files_above_the_size_limit_are_refused(which, tmp_path, capsys):
    path = write_case(tmp_path, WEB1)
    big = path if which == "inventory" else tmp_path / "big.yml"
    if which == "vars file":
        path.write_text(path.read_text() + "vars_files: [big.yml]\n")
    with big.open("a") as out:
        out.write("#" * (loader.MAX_SIZE + 1) + "\n")
    code, err = check(path, capsys)
    assert code == 65 and len(err.splitlines()) == 1, err
    assert f"{big.name}: " in err and "larger than 10 MiB" in err, err


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom"])
def test_an_endless_vars_file_is_refused_after_the_limit_not_read_whole(target, tmp_path):
    path = write_case(tmp_path, WEB1)
    path.write_text(path.read_text() + "vars_files: [endless.yml]\n")
    (tmp_path / "endless.yml").symlink_to(target)
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "  # reading it whole fails
    done = subprocess.run([sys.executable, "-c", limit + "from configurator.cli import commands as cli; "
                           f"raise SystemExit(cli.main(['check', {str(path)!r}]))"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 65 and len(done.stderr.splitlines()) == 1, done.stderr[-2000:]
    assert f"{target}: " in done.stderr and "larger than 20 MiB" in done.stderr, done.stderr  # the link resolved


def failed(host: str, status: str) -> HostResult:
    return HostResult(host, status, error="connect to 198.18.0.250:22 timed out")


def test_check_says_so_when_no_host_could_be_checked():
    results = [failed("a", "unreachable"), failed("b", "failed")]
    text = planview.render(planview.fold(results), False, results)
    assert "No changes" not in text
    assert text == "Nothing was checked on 2 hosts: a, b (failed or unreachable): see the recap.\n"


def test_check_names_the_hosts_it_could_not_check_next_to_no_changes():
    results = [HostResult("ok1", "ok"), failed("a", "unreachable")]
    text = planview.render(planview.fold(results), False, results)
    assert text == "No changes on the hosts checked.\nNothing was checked on a (unreachable): see the recap.\n"


def test_the_console_plan_of_a_check_where_every_host_failed():
    out = io.StringIO()
    report.Console(out, color=False).plan_view([failed("a", "unreachable")])
    assert "No changes" not in out.getvalue() and "Nothing was checked on a (unreachable)" in out.getvalue()
