"""A drop-in a role adds for a service takes effect on the restart it notifies (node12).

systemd does not watch a drop-in folder that did not exist when it loaded the unit (NeedDaemonReload stays
"no" on bookworm), so the service resource compares the drop-in files on disk with the unit's DropInPaths.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.engine_helpers import configure, sh, write_inventory

HOST = "node12"
FOLDER = "/etc/systemd/system/ssh.service.d"
ROLE = """\
description: a drop-in for ssh, and ssh restarted when it changes (its sessions stay, KillMode=process)
resources:
  - directory: {path: /etc/systemd/system/ssh.service.d, mode: "0755"}
  - file: {path: /etc/systemd/system/ssh.service.d/50-configurator-test.conf, mode: "0644",
           content: "[Service]\\nEnvironment=CFG_DROPIN={{ dropin_value }}\\n"}
    notify: restart ssh
  - service: {name: ssh, state: running}
handlers:
  restart ssh:
    service: {name: ssh, state: restarted}
"""


def environment(host) -> str:
    return sh(host, "systemctl show -p Environment ssh").strip()


def test_a_new_drop_in_takes_effect_on_the_restart_it_notifies(sandbox, tmp_path: Path):
    host = sandbox.host(HOST)
    sh(host, f"rm -rf {FOLDER}; systemctl daemon-reload; systemctl restart ssh")
    role = tmp_path / "roles" / "dropin"
    role.mkdir(parents=True)
    (role / "role.yml").write_text(ROLE)
    try:
        for value in ("one", "two"):  # a new folder, then a changed file in it
            path = write_inventory(sandbox, tmp_path / f"{value}.yml",
                                   {"demo": {"hosts": [HOST], "roles": ["dropin"], "vars": {"dropin_value": value}}},
                                   roles_path=[str(tmp_path / "roles")])
            code, report = configure("apply", path, report=tmp_path / f"{value}.json")
            assert code == 0, report
            assert environment(host) == f"Environment=CFG_DROPIN={value}"
            code, report = configure("apply", path, report=tmp_path / f"{value}-again.json")
            assert code == 0 and report is not None
            entry = report["hosts"][0]
            assert (entry["status"], entry["round_trips"]) == ("ok", 1), entry
    finally:
        sh(host, f"rm -rf {FOLDER}; systemctl daemon-reload; systemctl restart ssh")
