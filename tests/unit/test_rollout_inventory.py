"""Rollout keys of inventory groups: serial forms, max_fail, after:, batch hooks; bad ones exit 65 with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from configurator.cli import commands as cli
from configurator.model import inventory
from configurator.model.rolling import Hook, Percent

HOSTS = "hosts:\n  dns: {address: 198.18.0.250}\n  a1: {address: 198.18.0.251}\n  a2: {address: 198.18.0.252}\n"


def write(tmp_path: Path, groups: str, role: str = "resources: []\n") -> Path:
    (tmp_path / "roles" / "r").mkdir(parents=True)
    (tmp_path / "roles" / "r" / "role.yml").write_text(role)
    path = tmp_path / "inventory.yml"
    path.write_text("roles_path: [roles]\n" + HOSTS + "groups:\n" + groups)
    return path


@pytest.mark.parametrize(("text", "serial", "max_fail"), [
    ("serial: 2", 2, 0),
    ("serial: '30%', max_fail: '10%'", Percent(30), Percent(10)),
    ("serial: [1, '10%', '50%'], max_fail: 1", (1, Percent(10), Percent(50)), 1),
    ("serial: [2]", (2,), 0),
])
def test_serial_and_max_fail_forms(tmp_path, text, serial, max_fail):
    inv = inventory.load(write(tmp_path, f"  apps: {{hosts: [a1, a2], {text}}}\n"))
    assert (inv.groups["apps"].serial, inv.groups["apps"].max_fail) == (serial, max_fail)


def test_after_and_batch_hooks_load(tmp_path):
    groups = ("  infra: {hosts: [dns]}\n"
              "  apps:\n"
              "    hosts: [a1, a2]\n"
              "    serial: 1\n"
              "    after: [infra]\n"
              "    after_success: true\n"
              "    batch_hooks:\n"
              "      before:\n"
              "        - {on: dns, run: \"drain {{ batch | join(' ') }}\", timeout: 120}\n"
              "      after:\n"
              "        - {on: local, run: \"echo done {{ succeeded | join(' ') }}\"}\n")
    rolling = inventory.load(write(tmp_path, groups)).groups["apps"].rolling
    assert (rolling.after, rolling.after_success) == (("infra",), True)
    assert rolling.before_hooks == (Hook("dns", "drain {{ batch | join(' ') }}", 120.0),)
    assert rolling.after_hooks == (Hook("local", "echo done {{ succeeded | join(' ') }}", 300.0),)
    assert str(rolling.before_hooks[0].where) == f"{tmp_path / 'inventory.yml'}:15"


BAD = {
    "serial zero percent": ("  apps: {hosts: [a1], serial: '0%'}\n", 7, "serial must be a percentage from 1%"),
    "serial text": ("  apps: {hosts: [a1], serial: many}\n", 7, "serial must be a whole number"),
    "serial empty ramp": ("  apps: {hosts: [a1], serial: []}\n", 7, "serial must not be an empty list"),
    "ramp step zero": ("  apps:\n    hosts: [a1]\n    serial:\n      - 1\n      - 0\n", 11, "must be 1 or more"),
    "max_fail over 100%": ("  apps: {hosts: [a1], max_fail: '150%'}\n", 7, "max_fail must be a percentage"),
    "after unknown": ("  apps:\n    hosts: [a1]\n    after: [infra]\n", 9, "unknown group 'infra'"),
    "after cycle": ("  infra:\n    hosts: [dns]\n    after: [apps]\n  apps:\n    hosts: [a1]\n    after: [infra]\n", 9,
                    "groups wait for each other (after:): infra -> apps -> infra"),
    "after itself": ("  apps: {hosts: [a1], after: [apps]}\n", 7, "apps -> apps"),
    "after_success text": ("  apps: {hosts: [a1], after_success: yes please}\n", 7,
                           "after_success must be true or false"),
    "hook unknown host": ("  apps:\n    hosts: [a1]\n    batch_hooks:\n      before:\n        - {on: lb9, run: x}\n",
                          11, "runs on unknown host 'lb9'"),
    "hook without run": ("  apps:\n    hosts: [a1]\n    batch_hooks:\n      after:\n        - {on: local}\n", 11,
                         "needs `run:`"),
    "hook bad timeout": ("  apps:\n    hosts: [a1]\n    batch_hooks:\n      after:\n        - {on: local, run: x, "
                         "timeout: 0}\n", 11, "timeout in group apps batch_hooks after must be a number"),
    "hook unknown key": ("  apps:\n    hosts: [a1]\n    batch_hooks:\n      after:\n        - {on: local, run: x, "
                         "become: true}\n", 11, "unknown or repeated key 'become'"),
    "hooks other key": ("  apps:\n    hosts: [a1]\n    batch_hooks:\n      during: []\n", 9,
                        "batch_hooks must be a mapping with `before:`"),
}


@pytest.mark.parametrize("case", BAD.values(), ids=list(BAD))
def test_bad_rollout_keys_exit_65_with_file_and_line(tmp_path, capsys, case):
    groups, line, message = case
    path = write(tmp_path, groups)
    assert cli.main(["check", str(path)]) == 65
    err = capsys.readouterr().err
    assert f"inventory.yml:{line}:" in err and message in err, err


def test_serial_in_role_yml_is_bad_input(tmp_path, capsys):
    path = write(tmp_path, "  apps: {hosts: [a1], roles: [r]}\n", role="serial: 1\nresources: []\n")
    assert cli.main(["check", str(path)]) == 65
    err = capsys.readouterr().err
    assert "role.yml:1:" in err and "unknown key 'serial'" in err, err


def test_hosts_shows_the_order_of_the_rollout(tmp_path, capsys):
    groups = ("  infra: {hosts: [dns]}\n"
              "  apps: {hosts: [a1, a2], serial: 1, max_fail: '50%', after: [infra], after_success: true}\n")
    assert cli.main(["hosts", str(write(tmp_path, groups))]) == 0
    out = capsys.readouterr().out
    assert out.split("rollout order:\n")[1].splitlines() == [
        "  at once: dns",
        "  apps 1/2: a1  (after infra: dns, skipped if one fails)",
        "  apps 2/2: a2  (after apps 1/2)",
        "  max_fail: apps 1",
    ]
