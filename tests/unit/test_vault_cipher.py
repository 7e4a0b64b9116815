"""The vault format: round trip, canonical form, and every kind of damage refused without plaintext."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from configurator.errors import InputError
from configurator.vault import cipher as cipher_module
from configurator.vault import cipher as vault  # the module's own names: vault.parse, vault.is_vault
from configurator.vault.cipher import ScryptParams, decrypt, encrypt
from configurator.vault.errors import VaultError

FAST = ScryptParams(n=2**10, r=8, p=1)  # cheap for tests; the default is n=2**15
PASSPHRASE = "correct horse battery staple"
SMALL = b"db_password: s3cret\n"


@pytest.mark.parametrize("plaintext", [b"", b"a: 1\n", "pässwörd: ✓\n".encode(), bytes(range(256)), b"x" * 5000],
                         ids=["empty", "yaml", "utf8", "binary", "long"])
def test_round_trip(plaintext: bytes) -> None:
    assert decrypt(encrypt(plaintext, PASSPHRASE, FAST), PASSPHRASE) == plaintext


def test_round_trip_with_default_parameters() -> None:
    data = encrypt(SMALL, PASSPHRASE)
    assert data.startswith(b"$CONFIGURATOR_VAULT;1;AES256GCM;scrypt;n=32768,r=8,p=1\n")
    assert decrypt(data, PASSPHRASE) == SMALL


def test_layout_is_a_header_then_base64_wrapped_at_76_columns() -> None:
    data = encrypt(b"x" * 500, PASSPHRASE, FAST)
    header, *lines = data.decode("ascii").split("\n")
    assert header == "$CONFIGURATOR_VAULT;1;AES256GCM;scrypt;n=1024,r=8,p=1"
    assert lines[-1] == ""  # ends with a newline
    assert all(len(line) == 76 for line in lines[:-2]) and 0 < len(lines[-2]) <= 76
    raw = base64.b64decode("".join(lines))
    assert len(raw) == 16 + 12 + 500 + 16  # salt, nonce, ciphertext, tag


def test_fresh_salt_and_nonce_each_time() -> None:
    first, second = encrypt(SMALL, PASSPHRASE, FAST), encrypt(SMALL, PASSPHRASE, FAST)
    assert first != second
    one, two = vault.parse(first), vault.parse(second)
    assert one.salt != two.salt and one.nonce != two.nonce


def test_same_salt_still_gets_a_fresh_nonce() -> None:
    salt = vault.parse(encrypt(SMALL, PASSPHRASE, FAST)).salt
    first, second = (vault.parse(encrypt(SMALL, PASSPHRASE, FAST, salt)) for _ in range(2))
    assert first.salt == second.salt == salt and first.nonce != second.nonce


def test_wrong_passphrase_is_a_clear_input_error_naming_the_file() -> None:
    data = encrypt(SMALL, PASSPHRASE, FAST)
    with pytest.raises(VaultError) as caught:
        decrypt(data, "wrong", "group_vars/secrets.yml")
    assert isinstance(caught.value, InputError) and caught.value.exit_code == 65
    assert str(caught.value).startswith("group_vars/secrets.yml: cannot decrypt: wrong passphrase")


TAMPERS = {
    "flip low bit": lambda b: b ^ 0x01,
    "flip high bit": lambda b: b ^ 0x80,
    "flip case bit": lambda b: b ^ 0x20,
    "replace by A": lambda b: ord("B") if b == ord("A") else ord("A"),
}


@pytest.mark.parametrize("tamper", list(TAMPERS.values()), ids=list(TAMPERS))
def test_every_single_byte_tamper_is_detected(tamper) -> None:  # type: ignore[no-untyped-def]
    data = encrypt(SMALL, PASSPHRASE, FAST)
    for index in range(len(data)):
        damaged = data[:index] + bytes([tamper(data[index])]) + data[index + 1:]
        with pytest.raises(VaultError):
            decrypt(damaged, PASSPHRASE)
            pytest.fail(f"byte {index} ({chr(data[index])!r}) changed and not detected")


@pytest.mark.parametrize("edit", ["insert", "delete"])
def test_every_inserted_or_deleted_byte_is_detected(edit: str) -> None:
    data = encrypt(SMALL, PASSPHRASE, FAST)
    for index in range(len(data)):
        damaged = data[:index] + b"A" + data[index:] if edit == "insert" else data[:index] + data[index + 1:]
        with pytest.raises(VaultError):
            decrypt(damaged, PASSPHRASE)


def test_every_truncation_is_detected() -> None:
    data = encrypt(b"x" * 200, PASSPHRASE, FAST)
    for length in range(len(data)):
        with pytest.raises(VaultError):
            decrypt(data[:length], PASSPHRASE)


def test_trailing_garbage_is_detected() -> None:
    with pytest.raises(VaultError, match="canonical"):
        decrypt(encrypt(SMALL, PASSPHRASE, FAST) + b"\n", PASSPHRASE)


@pytest.mark.parametrize("header, message", [
    (b"$CONFIGURATOR_VAULT;2;AES256GCM;scrypt;n=1024,r=8,p=1\n", "unsupported vault format 2"),
    (b"$CONFIGURATOR_VAULT;1;CHACHA;scrypt;n=1024,r=8,p=1\n", "unsupported vault format"),
    (b"$CONFIGURATOR_VAULT;1;AES256GCM;scrypt;n=1000,r=8,p=1\n", "unsupported scrypt parameters"),
    (b"$CONFIGURATOR_VAULT;1;AES256GCM;scrypt;n=1048576,r=16,p=1\n", "unsupported scrypt parameters"),
    (b"$CONFIGURATOR_VAULT;1;AES256GCM;scrypt\n", "not a valid vault header"),
])
def test_headers_that_are_refused_before_any_key_derivation(header: bytes, message: str) -> None:
    body = encrypt(SMALL, PASSPHRASE, FAST).split(b"\n", 1)[1]
    with pytest.raises(VaultError, match=message):
        decrypt(header + body, PASSPHRASE)


def test_key_is_derived_once_per_passphrase_and_salt(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    def counting(salt: bytes, **kwargs: int) -> object:
        calls.append(salt)
        return Scrypt(salt=salt, **kwargs)

    monkeypatch.setattr(cipher_module, "Scrypt", counting)
    vault.forget_keys()
    data = encrypt(SMALL, PASSPHRASE, FAST)
    for _ in range(3):
        decrypt(data, PASSPHRASE)
    assert len(calls) == 1
    with pytest.raises(VaultError):
        decrypt(data, "another passphrase")
    assert len(calls) == 2


@pytest.mark.parametrize("data, expected", [
    (b"$CONFIGURATOR_VAULT;1;AES256GCM;scrypt;n=1024,r=8,p=1\nAAAA\n", True),
    (b"$CONFIGURATOR_VAULX;1;AES256GCM;scrypt;n=1024,r=8,p=1\n", True),  # damaged: still not read as YAML
    (b"%CONFIGURATOR_VAULT;1\n", True),
    (b"db_password: s3cret\n", False),
    (b"", False),
    (b"---\nfoo: $bar\n", False),
])
def test_is_vault(data: bytes, expected: bool) -> None:
    assert vault.is_vault(data) is expected
