"""Loading vars files (plain or vault), atomic writes, and the `vault` subcommands."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from configurator.cli import commands as cli
from configurator.cli.vault import add_parser
from configurator.errors import InputError
from configurator.model.loader import Mapping
from configurator.output.redaction import Redactor
from configurator.vault.cipher import ScryptParams, decrypt, encrypt
from configurator.vault.errors import VaultError
from configurator.vault.files import load_vars_file, write_atomic
from configurator.vault.passphrase import ENV_VAR, PassphraseSource

FAST = ScryptParams(n=2**10, r=8, p=1)
PASSPHRASE = "files-passphrase"
VARS = b"db_password: hunter2hunter2\napi:\n  token: tok-123456\n  port: 8443\n"


def source(passphrase: str = PASSPHRASE) -> PassphraseSource:
    def refuse(text: str) -> str:
        raise AssertionError("must not prompt")
    return PassphraseSource(None, {ENV_VAR: passphrase}, refuse)


def test_plain_vars_file_needs_no_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "vars.yml"
    path.write_bytes(VARS)
    redactor = Redactor()
    loaded = load_vars_file(path, PassphraseSource(None, {}, lambda _: pytest.fail("prompted")), redactor)
    assert isinstance(loaded, Mapping) and loaded["db_password"] == "hunter2hunter2"
    assert str(loaded.where_of("api")) == f"{path}:2"
    assert not redactor


def test_vault_vars_file_is_decrypted_and_its_values_become_secrets(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yml"
    path.write_bytes(encrypt(VARS, PASSPHRASE, FAST))
    redactor = Redactor()
    loaded = load_vars_file(path, source(), redactor)
    assert loaded == {"db_password": "hunter2hunter2", "api": {"token": "tok-123456", "port": 8443}}
    assert loaded.where_of("api").line == 2
    assert redactor.redact("pw=hunter2hunter2 token=tok-123456 port=8443") == "pw=******** token=******** port=********"


@pytest.mark.parametrize("content, message", [
    (b"- a\n- b\n", "must be a mapping"),
    (b"a: 1\na: 2\n", "duplicate key 'a'"),
    (b"a: !!python/object:os.system x\n", "YAML tag not allowed"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_bad_vault_content_is_an_input_error_naming_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "secrets.yml"
    path.write_bytes(encrypt(content, PASSPHRASE, FAST))
    with pytest.raises(InputError, match=message) as caught:
        load_vars_file(path, source())
    assert str(caught.value).startswith(str(path))


def test_empty_vault_gives_an_empty_mapping(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yml"
    path.write_bytes(encrypt(b"", PASSPHRASE, FAST))
    assert load_vars_file(path, source()) == {}


@pytest.mark.parametrize("damage", [lambda d: d.replace(b"$CONFIGURATOR", b"#CONFIGURATOR"),
                                    lambda d: d[:-10] + b"\n", lambda d: d.replace(b"VAULT", b"VAULX")],
                         ids=["magic", "truncated", "magic2"])
def test_damaged_vault_is_never_read_as_yaml(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "secrets.yml"
    path.write_bytes(damage(encrypt(VARS, PASSPHRASE, FAST)))
    with pytest.raises(VaultError):
        load_vars_file(path, source())


def test_wrong_passphrase_names_file_and_source(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yml"
    path.write_bytes(encrypt(VARS, PASSPHRASE, FAST))
    with pytest.raises(VaultError) as caught:
        load_vars_file(path, source("wrong"))
    assert str(caught.value) == (f"{path}: cannot decrypt: wrong passphrase, or the file was modified or corrupted "
                                 f"(passphrase from ${ENV_VAR})")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="cannot read"):
        load_vars_file(tmp_path / "nope.yml", source())


def test_write_atomic_sets_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "out"
    write_atomic(path, b"data", 0o640)
    assert path.read_bytes() == b"data" and path.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["out"]


def test_write_atomic_failure_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out"
    path.write_bytes(b"old")

    def broken(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, b"new", 0o600)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["out"]


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, errors: list[str] | None = None) -> int:
    """Parse `vault ...` like the CLI will and run it; an input error gives its exit code (its text in `errors`)."""
    monkeypatch.setenv(ENV_VAR, PASSPHRASE)
    parser = cli.Parser(prog="configure")
    add_parser(parser.add_subparsers(dest="command", required=True, parser_class=cli.Parser))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        (errors if errors is not None else []).append(str(exc))
        return exc.exit_code


def test_encrypt_then_view_then_decrypt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path = tmp_path / "vars.yml"
    path.write_bytes(VARS)
    path.chmod(0o644)
    assert run(["vault", "encrypt", str(path)], monkeypatch) == 0
    assert path.read_bytes().startswith(b"$CONFIGURATOR_VAULT;1;") and path.stat().st_mode & 0o777 == 0o644
    assert decrypt(path.read_bytes(), PASSPHRASE) == VARS
    capsysbinary.readouterr()
    assert run(["vault", "view", str(path)], monkeypatch) == 0
    assert capsysbinary.readouterr().out == VARS
    assert run(["vault", "decrypt", str(path)], monkeypatch) == 0
    assert path.read_bytes() == VARS and path.stat().st_mode & 0o777 == 0o600
    assert sorted(os.listdir(tmp_path)) == ["vars.yml"]


def test_output_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, out = tmp_path / "vars.yml", tmp_path / "vault.yml"
    path.write_bytes(VARS)
    assert run(["vault", "encrypt", str(path), "-o", str(out)], monkeypatch) == 0
    assert path.read_bytes() == VARS and decrypt(out.read_bytes(), PASSPHRASE) == VARS


@pytest.mark.parametrize("command, encrypted, message", [
    ("encrypt", True, "already encrypted"),
    ("decrypt", False, "not a vault file"),
    ("view", False, "not a vault file"),
    ("edit", False, "not a vault file"),
])
def test_refusals_exit_65_and_change_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str,
                                             encrypted: bool, message: str) -> None:
    path = tmp_path / "vars.yml"
    path.write_bytes(encrypt(VARS, PASSPHRASE, FAST) if encrypted else VARS)
    before = path.read_bytes()
    monkeypatch.setenv("EDITOR", "true")
    errors: list[str] = []
    assert run(["vault", command, str(path)], monkeypatch, errors) == 65
    assert errors[0].startswith(f"{path}: {message}")
    assert path.read_bytes() == before


def test_password_file_option_wins_over_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, secret = tmp_path / "vars.yml", tmp_path / "pw"
    path.write_bytes(encrypt(VARS, "from-file", FAST))
    secret.write_text("from-file\n")
    assert run(["vault", "view", str(path), "--vault-password-file", str(secret)], monkeypatch) == 0
    assert run(["vault", "view", str(path)], monkeypatch) == 65  # the environment's passphrase is wrong here


def test_subcommand_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit) as caught:
        run(["vault"], monkeypatch)
    assert caught.value.code == cli.USAGE


def test_parsed_arguments() -> None:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["vault", "edit", "s.yml", "--vault-password-file", "pw"])
    assert (args.file, args.vault_password_file, args.func.__name__) == (Path("s.yml"), Path("pw"), "cmd_edit")
