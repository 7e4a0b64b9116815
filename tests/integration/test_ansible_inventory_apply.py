"""An Ansible INI inventory with group_vars/ and an ansible-vault file, given roles by an including file,
converges node42; the decrypted value reaches the host, is kept private there and never shows in the output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from configurator.vault.passphrase import ENV_VAR
from tests.integration.engine_helpers import HERE, changed_steps, configure, sh

pytestmark = pytest.mark.integration

HOST = "node42"
SECRET_DIR = "/srv/ansible-secrets"
VAULT_DATA = Path(__file__).resolve().parents[1] / "unit" / "data" / "ansible_vault"
PASSPHRASE = "correct horse battery staple"  # of the files ansible-vault made in tests/unit/data/ansible_vault
SECRET = "s3cret-db-pass"  # the inline !vault value (format 1.1) of group_vars/db.yml there


def _lab(sandbox, folder: Path) -> Path:
    host = sandbox.host(HOST)
    (folder / "group_vars").mkdir(parents=True)
    (folder / "hosts.ini").write_text(
        f"[lab]\n{HOST} ansible_host={host.address} ansible_user=root\n\n"
        f"[lab:vars]\nansible_ssh_private_key_file={sandbox.key_path}\n")
    inline = (VAULT_DATA / "group_vars" / "db.yml").read_text().split("db_password: ", 1)[1]
    (folder / "group_vars" / "lab.yml").write_text(f"secret_dir: {SECRET_DIR}\nsecret_token: {inline}")
    (folder / "site.yml").write_text(
        f"include: hosts.ini\nssh: {{known_hosts: {sandbox.known_hosts}, connect_timeout: 5}}\n"
        f"roles_path: [{HERE / 'roles'}]\ngroups:\n  lab: {{roles: [secret_file_demo]}}\n")
    return folder / "site.yml"


def test_an_ansible_inventory_converges_a_host_with_its_vault_value(sandbox, tmp_path, monkeypatch):
    host = sandbox.host(HOST)
    sh(host, f"rm -rf {SECRET_DIR}")
    site = _lab(sandbox, tmp_path / "lab")
    monkeypatch.setenv(ENV_VAR, PASSPHRASE)
    shown = subprocess.run([sys.executable, "-m", "configurator.cli", "apply", str(site), "--diff"],
                           capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, timeout=300,
                           check=False)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert SECRET not in shown.stdout + shown.stderr
    assert sh(host, f"cat {SECRET_DIR}/app.env") == f"TOKEN={SECRET}\n"
    assert sh(host, f"stat -c %a {SECRET_DIR}/app.env").strip() == "600"  # a vault value: kept private
    code, report = configure("apply", site, report=tmp_path / "second.json")
    assert code == 0 and changed_steps(report) == {HOST: []}  # type: ignore[arg-type]
    assert report["hosts"][0]["round_trips"] == 1  # type: ignore[index]
