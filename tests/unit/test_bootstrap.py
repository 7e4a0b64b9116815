"""configure bootstrap as data: the host-key policy on first contact, the inventory's host_key, the
password kept out of every output, and which of the base role's resources first contact runs."""

from __future__ import annotations

import argparse
from pathlib import Path

import paramiko
import pytest

from configurator.cli import arguments
from configurator.cli import commands as cli
from configurator.connections.hostkeys import AcceptNew, Pinned, Refuse, policy
from configurator.engine import bootstrap
from configurator.errors import Unreachable
from configurator.model import inventory
from configurator.model.catalog import build_catalog
from configurator.model.variables import parse_cli_vars
from configurator.output.redaction import Redactor

ROLES = Path(__file__).resolve().parents[2] / "roles"


@pytest.fixture(scope="module")
def key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


@pytest.mark.parametrize(("accept_new", "pinned", "kind"), [
    (False, None, Refuse), (True, None, AcceptNew), (False, "SHA256:" + "x" * 43, Pinned),
    (True, "SHA256:" + "x" * 43, Pinned),  # the inventory's fingerprint wins over --accept-new
])
def test_the_policy_for_a_key_never_seen(accept_new, pinned, kind):
    assert type(policy("/nowhere", accept_new, pinned)) is kind


def test_a_first_key_matching_the_inventory_is_recorded(tmp_path, key):
    known = tmp_path / "known_hosts"
    Pinned(str(known), key.fingerprint).missing_host_key(paramiko.SSHClient(), "198.18.0.9", key)
    assert known.read_text() == f"198.18.0.9 {key.get_name()} {key.get_base64()}\n"


def test_a_first_key_not_matching_is_refused_with_both_fingerprints(tmp_path, key):
    known, wanted = tmp_path / "known_hosts", "SHA256:" + "A" * 43
    with pytest.raises(Unreachable) as refused:
        Pinned(str(known), wanted).missing_host_key(paramiko.SSHClient(), "198.18.0.9", key)
    assert key.fingerprint in str(refused.value) and wanted in str(refused.value)
    assert not known.exists()


def test_an_unknown_key_without_a_fingerprint_is_refused_showing_it(key):
    with pytest.raises(Unreachable, match="--accept-new") as refused:
        Refuse().missing_host_key(paramiko.SSHClient(), "198.18.0.9", key)
    assert key.fingerprint.startswith("SHA256:") and key.fingerprint in str(refused.value)


@pytest.mark.parametrize("value", ["SHA256:short", "MD5:" + "a" * 43, "ab:cd", "SHA256:" + "!" * 43])
def test_a_host_key_that_is_no_fingerprint_is_refused_with_file_and_line(tmp_path, value, capsys):
    path = tmp_path / "inventory.yml"
    path.write_text(f"hosts:\n  web1:\n    address: 198.18.0.250\n    host_key: '{value}'\n")
    assert cli.main(["hosts", str(path)]) == 65
    assert "inventory.yml:4" in capsys.readouterr().err


def test_a_host_key_fingerprint_reaches_the_host(tmp_path):
    good = "SHA256:" + "Ab+/" * 10 + "xyz"
    path = tmp_path / "inventory.yml"
    path.write_text(f"hosts:\n  web1: {{address: 198.18.0.250, host_key: '{good}'}}\n")
    assert inventory.load(path).hosts["web1"].ssh.host_key == good


def test_the_login_password_is_registered_with_the_redactor(tmp_path, monkeypatch):
    (tmp_path / "pw").write_text("s3cret-login\n")
    args = argparse.Namespace(redactor=Redactor())
    assert arguments.secret(args, False, tmp_path / "pw", "SSH password", "password") == "s3cret-login"
    assert "s3cret-login" not in args.redactor.redact("sshd said: s3cret-login rejected")
    monkeypatch.setattr(arguments.getpass, "getpass", lambda prompt: "typed-one")
    assert arguments.secret(args, True, None, "SSH password", "password") == "typed-one"
    assert "typed-one" not in args.redactor.redact("typed-one")


def test_bootstrap_never_prints_the_password_even_when_the_host_is_unreachable(tmp_path, capsys):
    (tmp_path / "pw").write_text("s3cret-login\n")
    path = tmp_path / "inventory.yml"
    path.write_text(f"roles_path: [{ROLES}]\nssh: {{connect_timeout: 1}}\nhosts:\n  web1: {{address: 198.18.0.250}}\n"
                    "vars:\n  base_admins: [{name: ops, keys: ['ssh-ed25519 AAAA ops']}]\n")
    code = cli.main(["bootstrap", str(path), "--password-file", str(tmp_path / "pw"), "--json",
                     str(tmp_path / "r.json")])
    out = capsys.readouterr()
    assert code == 3
    assert "s3cret-login" not in out.out + out.err + (tmp_path / "r.json").read_text()


def _parts(tmp_path: Path, request: bootstrap.Request, admins: str = "[{name: ops, keys: ['ssh-ed25519 AAAA o']}]"):
    path = tmp_path / "inventory.yml"
    path.write_text(f"roles_path: [{ROLES}]\nhosts:\n  web1: {{address: 198.18.0.250}}\n"
                    f"vars:\n  base_admins: {admins}\n  base_sshd_password_authentication: true\n")
    inv = inventory.load(path)
    return bootstrap.parts(inv.hosts["web1"], lambda h, v: build_catalog(h, inv, v), parse_cli_vars([]), request)


def test_first_contact_runs_only_the_base_roles_admin_resources(tmp_path):
    got = _parts(tmp_path, bootstrap.Request())
    assert [e.resource.id for e in got.admins.entries] == [
        "package[sudo]", "user[ops]", "file[/etc/sudoers.d/admin-ops]"]
    assert got.sshd is None and got.admin == "ops"


def test_disabling_password_login_takes_base_sshd_drop_in_with_password_login_off(tmp_path):
    got = _parts(tmp_path, bootstrap.Request(disable_password=True))
    assert got.sshd is not None
    ids = [e.resource.id for e in got.sshd.entries]
    assert "file[/etc/ssh/sshd_config.d/50-configurator.conf]" in ids
    drop_in = next(e.resource for e in got.sshd.entries if e.resource.id.startswith("file[/etc/ssh"))
    assert b"PasswordAuthentication no" in drop_in.content  # over the inventory's `true`
    assert "reload sshd" in got.sshd.handlers


def test_a_host_without_admins_is_bad_input(tmp_path):
    with pytest.raises(bootstrap.InputError, match="base_admins"):
        _parts(tmp_path, bootstrap.Request(), admins="[]")


@pytest.mark.parametrize(("configured", "user", "login", "become"), [
    ("root", None, "root", False), ("ops", "root", "root", False), ("ops", "debian", "debian", True),
])
def test_first_contact_logs_in_as_asked(tmp_path, configured, user, login, become):
    host = inventory.Host("web1", "198.18.0.250", inventory.Ssh(user=configured))
    got = bootstrap.login_host(host, bootstrap.Request(user=user))
    assert (got.ssh.user, got.ssh.become) == (login, become)
