"""Bad and hostile Ansible inventories: exit 65 with file:line, before any connection, as configurator's own YAML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from configurator.cli import commands as cli
from configurator.model import inventory
from configurator.model.variables import merge

CASES = {
    "section header": ({"h.ini": "[web\nw1\n"}, "h.ini:1", "not a section header"),
    "range of words": ({"h.ini": "[web]\nw1\nweb[01:zz].example\n"}, "h.ini:3", "is not \\[NUMBER:NUMBER\\]"),
    "huge range": ({"h.ini": "[web]\nweb[0:99999999]\n"}, "h.ini:2", "empty or too large"),
    "ranges multiplied": ({"h.ini": "[web]\nw[0:999]-[0:999]\n"}, "h.ini:2", "more than 100000 hosts"),
    "empty range": ({"h.ini": "[web]\nweb[9:1]\n"}, "h.ini:2", "empty or too large"),
    "zero step": ({"h.ini": "[web]\nweb[1:9:0]\n"}, "h.ini:2", "step must be"),
    "port word": ({"h.ini": "[web]\nw1\n[web:vars]\nansible_port=http\n"}, "h.ini:4", "port must be a int"),
    "port range": ({"h.ini": "w1 ansible_port=70000\n"}, "h.ini:1", "port must be 1 to 65535"),
    "become": ({"h.ini": "[a]\nw1 ansible_become=maybe\n"}, "h.ini:2", "ansible_become must be a boolean"),
    "connection": ({"h.ini": "w1 ansible_connection=winrm\n"}, "h.ini:1", "'winrm' is not supported"),
    "address": ({"h.ini": "w1 ansible_host='a b;reboot'\n"}, "h.ini:1", "is not a host name"),
    "user": ({"h.ini": "w1\n[all:vars]\nansible_user=-oProxyCommand=x\n"}, "h.ini:3", "not a valid user name"),
    "host name": ({"h.ini": "[web]\nw1\n--evil\n"}, "h.ini:3", "'--evil' is not a valid name"),
    "group name": ({"h.ini": "[we b]\nw1\n"}, "h.ini:1", "group name 'we b' is not valid"),
    "quote": ({"h.ini": "[web]\nw1 note=\"open\n"}, "h.ini:2", "cannot split the line"),
    "vars line": ({"h.ini": "[web:vars]\njust words\n"}, "h.ini:2", "expected NAME=VALUE"),
    "var name": ({"h.ini": "w1 9lives=1\n"}, "h.ini:1", "not a valid variable name"),
    "cycle": ({"h.ini": "[a:children]\nb\n[b:children]\na\n"}, "h.ini:", "cycle"),
    "group_vars duplicate": ({"h.ini": "[web]\nw1\n", "group_vars/web.yml": "a: 1\na: 2\n"},
                             "group_vars/web.yml:2", "duplicate key 'a'"),
    "group_vars tag": ({"h.ini": "[web]\nw1\n", "group_vars/web/x.yml": "a: !!python/object:os.system x\n"},
                       "group_vars/web/x.yml:1", "YAML tag not allowed"),
    "group_vars list": ({"h.ini": "w1\n", "host_vars/w1": "- a\n"}, "host_vars/w1:1", "must be a mapping"),
    "yaml key": ({"h.yml": "all:\n  children:\n    web:\n      host: {w1: }\n"}, "h.yml:4", "unknown key 'host'"),
    "yaml hosts": ({"h.yml": "web:\n  hosts: [w1]\n"}, "h.yml:2", "hosts must be a mapping"),
    "include loop": ({"a.yml": "include: b.yml\n", "b.yml": "include: a.yml\n"}, "b.yml:1", "loop"),
    "include missing": ({"a.yml": "hosts: {}\ninclude: nothere.ini\n"}, "a.yml:2", "no such file"),
    "include key": ({"a.yml": "include: h.ini\nhosts:\n  w1: {colour: red}\n", "h.ini": "w1\n"},
                    "a.yml:3", "unknown key 'colour'"),
    "ssh_config": ({"cfg": "Host web\n  HostName a b c\n"}, "cfg:1", "is not a host name"),  # the host's line
}


@pytest.mark.parametrize("files, where, message", CASES.values(), ids=CASES.keys())
def test_bad_ansible_input_is_reported_with_file_and_line(files, where, message, tmp_path, capsys):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cli.main(["hosts", str(tmp_path / next(iter(files)))]) == 65
    err = capsys.readouterr().err
    assert f"{tmp_path}/{where}" in err
    assert re.search(message, err), err


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "inventory.sh"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("body, message", [
    ("echo '{\"web\": {\"hosts\": [\"w1\"]},'\necho 'oops'\n", "(output):2: the output is not valid JSON"),
    ("echo 'the cloud API refused' >&2; exit 3\n", "exited with status 3 (the cloud API refused)"),
    ("echo '[1, 2]'\n", "must be a JSON object, got list"),
    ("echo '{\"web\": {\"hosts\": \"w1\"}}'\n", "group web hosts must be a list of names"),
    ("echo '{\"web\": [\"w1\"], \"_meta\": {\"hostvars\": {\"w1\": {\"ansible_port\": \"x\"}}}}'\n",
     "port must be a int"),
])
def test_a_bad_dynamic_inventory_is_bad_input(body, message, tmp_path, capsys):
    script = _script(tmp_path, body)
    assert cli.main(["hosts", str(script)]) == 65
    err = capsys.readouterr().err
    assert str(script) in err and message in err, err


def test_a_dynamic_inventory_that_hangs_is_stopped(tmp_path, capsys, monkeypatch):
    script = _script(tmp_path, "sleep 30\n")
    monkeypatch.setenv("CONFIGURE_INVENTORY_TIMEOUT", "0.5")
    assert cli.main(["hosts", str(script)]) == 65
    assert "did not finish within 0.5s" in capsys.readouterr().err


def test_a_host_line_value_is_never_evaluated(tmp_path, capsys, monkeypatch):
    (tmp_path / "h.ini").write_text("w1 x=__import__('os').system('touch\\ pwned') y=" + "(" * 5000 + "\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["vars", str(tmp_path / "h.ini"), "w1", "x"]) == 0
    assert "__import__" in capsys.readouterr().out and not (tmp_path / "pwned").exists()


def test_a_large_range_looks_at_the_vars_folders_once_not_per_host(tmp_path, monkeypatch):
    """10,000 hosts of one range in two groups: group_vars/ and host_vars/ are read a fixed number of times.

    A lookup per host and group made this take minutes; counted here instead of timed."""
    (tmp_path / "h.ini").write_text("[web]\nweb[00001:10000].example\n[app:children]\nweb\n")
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "web00002.example.yml").write_text("x: 1\n")
    looked: list[str] = []
    for name in ("exists", "is_file", "is_dir", "iterdir", "glob"):
        real = getattr(Path, name)
        monkeypatch.setattr(Path, name, lambda self, *a, _real=real, _name=name, **k: looked.append(_name) or _real(
            self, *a, **k))
    inv = inventory.load(tmp_path / "h.ini")
    assert len(inv.hosts) == 10000 and inv.hosts["web10000.example"].groups == ("app", "web")
    assert merge(inv.hosts["web00002.example"].var_layers)["x"].value == 1
    assert len(looked) < 100, len(looked)
