"""Bad inventories and roles: one line with file:line, exit 65, before any connection."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from configurator.cli import commands as cli

HOST = "198.18.0.250"  # nothing answers here: a connection attempt would exit 3, not 65


def role(root: Path, name: str, text: str, templates: dict[str, str] | None = None) -> None:
    folder = root / "roles" / name
    (folder / "templates").mkdir(parents=True)
    (folder / "role.yml").write_text(text)
    for file, body in (templates or {}).items():
        (folder / "templates" / file).write_text(body)


def inventory(root: Path, text: str) -> Path:
    path = root / "inventory.yml"
    path.write_text("roles_path: [roles]\n" + text)
    return path


GOOD_HOSTS = f"hosts:\n  web1: {{address: {HOST}}}\ngroups:\n  web: {{hosts: [web1], roles: [r]}}\n"

CASES = {
    "duplicate key": (f"hosts:\n  web1: {{address: {HOST}}}\n  web1: {{address: {HOST}}}\n", "", {},
                      "inventory.yml:4", "duplicate key 'web1'"),
    "unknown key": (f"hosts:\n  web1: {{address: {HOST}, adress: x}}\n", "", {},
                    "inventory.yml:3", "unknown key 'adress'"),
    "unquoted mode": (GOOD_HOSTS, "resources:\n  - file: {path: /etc/x, content: a, mode: 644}\n", {},
                      "role.yml:2", 'mode: "0644"'),
    "undefined role": (f"hosts:\n  web1: {{address: {HOST}}}\ngroups:\n  web: {{hosts: [web1], roles: [nope]}}\n",
                       "", {}, "inventory.yml:3", "undefined role 'nope'"),
    "undefined template variable": (GOOD_HOSTS, "resources:\n  - template: {path: /etc/x, src: t.j2}\n",
                                    {"t.j2": "a\n{{ missing_var }}\n"}, "t.j2:", "'missing_var' is undefined"),
    "undefined variable in args": (GOOD_HOSTS, "resources:\n  - package: {name: '{{ pkg }}'}\n", {},
                                   "role.yml:2", "'pkg' is undefined"),
    "role cycle": (GOOD_HOSTS, "depends: [s]\n", {}, "role.yml:1", "cycle"),
    "host name starting with -": (f"hosts:\n  -web1: {{address: {HOST}}}\n", "", {},
                                  "inventory.yml:3", "host name '-web1' is not valid"),
    "package name with space": (GOOD_HOSTS, "resources:\n  - package: {name: 'nginx light'}\n", {},
                                "role.yml:2", "must not be empty, start with '-' or contain spaces"),
    "package name with leading dash": (GOOD_HOSTS, "resources:\n  - package: {name: '-oops'}\n", {},
                                       "role.yml:2", "start with '-'"),
    "yaml python tag": (f"hosts:\n  web1: !!python/object:os.system {{address: {HOST}}}\n", "", {},
                        "inventory.yml:3", "YAML tag not allowed"),
    "wrong type": (f"hosts:\n  web1: {{address: {HOST}, port: '22'}}\n", "", {},
                   "inventory.yml:3", "port must be a int"),
    "unknown resource type": (GOOD_HOSTS, "resources:\n  - packag: {name: x}\n", {},
                              "role.yml:2", "unknown resource type 'packag'"),
    "relative path": (GOOD_HOSTS, "resources:\n  - file: {path: etc/x, content: a}\n", {},
                      "role.yml:2", "must be an absolute path"),
    "internal streaming key": (GOOD_HOSTS, "resources:\n  - file: {path: /etc/x, source: /etc/shadow}\n", {},
                               "role.yml:2", "unknown argument 'source'"),
    "src escaping the role": (GOOD_HOSTS, "resources:\n  - template: {path: /etc/x, src: ../../inventory.yml}\n",
                              {}, "role.yml:2", "'..' is not allowed"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_exits_65_with_location(name, tmp_path, capsys):
    inv_text, role_text, templates, where, message = CASES[name]
    role(tmp_path, "r", role_text or "resources: []\n", templates)
    role(tmp_path, "s", "depends: [r]\n")
    path = inventory(tmp_path, inv_text)
    code = cli.main(["check", str(path)])
    err = capsys.readouterr().err.strip()
    assert code == 65, err
    assert len(err.splitlines()) == 1, err
    assert where in err and message in err, err
    assert re.search(r"\S+:\d+: ", err), err


@pytest.mark.parametrize("pattern", ["web 1", "-web1", "nothing*", "web1,,!"])
def test_bad_limit_pattern_exits_65(pattern, tmp_path, capsys):
    role(tmp_path, "r", "resources: []\n")
    path = inventory(tmp_path, GOOD_HOSTS)
    assert cli.main(["check", str(path), f"--limit={pattern}"]) == 65
    assert "--limit" in capsys.readouterr().err


def test_a_template_that_is_not_utf8_is_bad_input(tmp_path, capsys):
    role(tmp_path, "r", "resources:\n  - template: {path: /etc/x, src: t.j2}\n")
    (tmp_path / "roles" / "r" / "templates" / "t.j2").write_bytes(b"caf\xe9 {{ x }}\n")
    code = cli.main(["check", str(inventory(tmp_path, GOOD_HOSTS))])
    err = capsys.readouterr().err
    assert code == 65 and "t.j2" in err and "not UTF-8" in err and "file: src" in err


def test_binary_files_are_shipped_byte_for_byte(tmp_path):
    from configurator.model import inventory as inventory_mod
    from configurator.model.catalog import build_catalog
    from configurator.model.variables import parse_cli_vars

    role(tmp_path, "r", "resources:\n  - file: {path: /opt/blob, src: blob.bin, mode: '0600'}\n")
    files = tmp_path / "roles" / "r" / "files"
    files.mkdir()
    blob = bytes(range(256)) * 4
    (files / "blob.bin").write_bytes(blob)
    inv = inventory_mod.load(inventory(tmp_path, GOOD_HOSTS))
    catalog = build_catalog(inv.hosts["web1"], inv, parse_cli_vars([]))
    assert catalog.entries[0].resource.content == blob
