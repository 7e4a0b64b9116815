"""ansible-vault values (1.1 and 1.2, whole files and inline `!vault`) made by the real ansible-vault.

The files under data/ansible_vault were encrypted by ansible-core 2.19's `ansible-vault encrypt` and
`encrypt_string` (format 1.2 with `--vault-id prod@...`) with the passphrase below.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from configurator.cli import commands as cli
from configurator.cli import hosts as hosts_cli
from configurator.errors import InputError, Location
from configurator.model import ansible_vault, inventory
from configurator.model.variables import merge
from configurator.model.vault_secrets import Secrets
from configurator.output import redaction

DATA = Path(__file__).parent / "data" / "ansible_vault"
PASSPHRASE = "correct horse battery staple"
SECRETS = {"tok-web-5f2a91", "alice", "s3cret-db-pass", "label-1.2-secret", "backup-key-77c1"}


def _load(path: Path = DATA / "hosts.ini", passphrase: str = PASSPHRASE) -> tuple[inventory.Inventory, list]:
    seen: list = []
    return inventory.load(path, secrets=Secrets(lambda: passphrase, seen.append)), seen


@pytest.mark.parametrize("host, name, value, where", [
    ("web1", "web_api_token", "tok-web-5f2a91", "group_vars/web/secret.yml (decrypted):1"),  # whole file, 1.1
    ("web2", "web_admins", ["alice", "bob"], "group_vars/web/secret.yml (decrypted):2"),
    ("db1", "db_password", "s3cret-db-pass", "group_vars/db.yml:2"),  # inline !vault, 1.1
    ("db1", "db_password_plain_neighbour", "visible", "group_vars/db.yml:1"),
    ("db1", "db1_backup_key", "backup-key-77c1", "host_vars/db1.yml (decrypted):1"),  # whole file, 1.2 with a label
    ("web1", "web1_inline", "label-1.2-secret", "host_vars/web1/inline.yml:2"),  # inline, 1.2
])
def test_values_are_decrypted_with_their_place(host, name, value, where):
    inv, _ = _load()
    found = merge(inv.hosts[host].var_layers)[name]
    assert found.value == value
    assert str(found.where) == f"{DATA}/{where}"


def test_decrypted_values_are_secrets_and_plain_ones_are_not():
    _, seen = _load()
    revealed = {text for data in seen for text in redaction.secret_values(data)}
    assert revealed >= SECRETS
    assert "visible" not in revealed and "plain-value" not in revealed


def test_configure_vars_redacts_them(capsys, monkeypatch):
    monkeypatch.setenv("CONFIGURE_VAULT_PASSWORD", PASSPHRASE)
    assert cli.main(["vars", str(DATA / "hosts.ini"), "db1"]) == 0
    out = capsys.readouterr().out
    assert "s3cret-db-pass" not in out and "backup-key-77c1" not in out
    assert "db_password = '********'" in out and "visible" in out


def test_wrong_passphrase_names_the_file_and_line():
    with pytest.raises(InputError) as error:
        _load(passphrase="wrong")
    assert "wrong passphrase" in str(error.value)
    assert error.value.where is not None and error.value.where.path.startswith(str(DATA))


def test_no_passphrase_is_bad_input():
    with pytest.raises(InputError, match="needs the vault passphrase"):
        inventory.load(DATA / "hosts.ini")


def _envelope() -> str:
    text = (DATA / "host_vars" / "db1.yml").read_text()
    assert ansible_vault.is_vault(text)
    return text


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace("$ANSIBLE_VAULT;1.2", "$ANSIBLE_VAULT;1.3"), "not a supported ansible-vault header"),
    (lambda t: t.replace("AES256", "AES128"), "unsupported ansible-vault cipher"),
    (lambda t: t[:-40] + "\n", "damaged"),
    (lambda t: t.split("\n", 1)[0] + "\nzz\n", "damaged"),
])
def test_a_changed_envelope_is_refused(change, message):
    with pytest.raises(InputError, match=message):
        ansible_vault.decrypt(change(_envelope()), PASSPHRASE, Location("x.yml", 1))


def test_a_flipped_ciphertext_byte_fails_the_hmac():
    head, body = _envelope().split("\n", 1)
    digits = "".join(body.split())
    flipped = digits[:-2] + ("30" if digits[-2:] != "30" else "31")
    with pytest.raises(InputError, match="wrong passphrase, or it was modified"):
        ansible_vault.decrypt(f"{head}\n{flipped}\n", PASSPHRASE, Location("x.yml", 1))


def test_vault_tag_in_configurators_own_yaml_is_refused(tmp_path):
    inline = (DATA / "group_vars" / "db.yml").read_text().split("\n", 1)[1]
    (tmp_path / "inv.yml").write_text(f"hosts:\n  a: {{}}\nvars:\n  {inline.replace(chr(10), chr(10) + '  ')}")
    with pytest.raises(InputError, match="YAML tag not allowed: !vault") as error:
        inventory.load(tmp_path / "inv.yml")
    assert error.value.where == Location(str(tmp_path / "inv.yml"), 4)


def test_configure_hosts_sources_redacts_vault_values(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "inv"
    shutil.copytree(DATA, folder)
    monkeypatch.setenv("CONFIGURE_VAULT_PASSWORD", PASSPHRASE)
    args = argparse.Namespace(inventory=folder / "hosts.ini", limit="db1", var=[], vault_password_file=None,
                              redactor=redaction.Redactor(), sources=True)
    assert hosts_cli.cmd_hosts(args) == 0
    out = capsys.readouterr().out
    assert "s3cret-db-pass" not in out and f"{folder}/group_vars/db.yml:2" in out
