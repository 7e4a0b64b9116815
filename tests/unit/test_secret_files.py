"""A file or template whose content holds a vault secret and that sets no `mode` is kept private (0600)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from configurator.engine.actions import Run, Upload
from configurator.model import inventory
from configurator.model.catalog import build_catalog
from configurator.model.variables import parse_cli_vars
from configurator.output.redaction import Redactor
from configurator.resources.base import decide
from configurator.resources.file import File
from configurator.vault.cipher import encrypt
from configurator.vault.files import load_vars_file
from configurator.vault.passphrase import ENV_VAR, PassphraseSource

SECRET = "s3cret-Value-42"
NOTE = "content holds a vault secret; set `mode` to choose"
ROLE = {
    "description": "files with and without a secret",
    "resources": [
        {"file": {"path": "/etc/app/secret.env", "content": "TOKEN={{ token }}\n"}},
        {"template": {"path": "/etc/app/secret.conf", "src": "secret.conf.j2"}},
        {"file": {"path": "/etc/app/chosen.env", "content": "TOKEN={{ token }}\n", "mode": "0640"}},
        {"file": {"path": "/etc/app/plain.env", "content": "TOKEN=none\n"}},
    ],
}


@pytest.fixture
def resources(tmp_path: Path) -> dict[str, File]:
    role = tmp_path / "roles" / "secret_files"
    (role / "templates").mkdir(parents=True)
    (role / "role.yml").write_text(yaml.safe_dump(ROLE))
    (role / "templates" / "secret.conf.j2").write_text("[db]\npassword = {{ token }}\n")
    (tmp_path / "secrets.vault").write_bytes(encrypt(yaml.safe_dump({"token": SECRET}).encode(), "pw"))
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({
        "roles_path": ["roles"], "vars_files": ["secrets.vault"],
        "hosts": {"h": {"address": "198.18.0.99"}}, "groups": {"g": {"hosts": ["h"], "roles": ["secret_files"]}}}))
    redactor = Redactor()
    source = PassphraseSource(environ={ENV_VAR: "pw"})
    inv = inventory.load(tmp_path / "inventory.yml", lambda p: load_vars_file(p, source, redactor))
    catalog = build_catalog(inv.hosts["h"], inv, parse_cli_vars([]), secrets=redactor)
    return {e.resource.path: e.resource for e in catalog.entries}  # type: ignore[attr-defined]


def test_the_catalog_marks_only_files_with_a_secret_and_no_mode(resources: dict[str, File]) -> None:
    private = {path for path, r in resources.items() if r.private}
    assert private == {"/etc/app/secret.env", "/etc/app/secret.conf"}
    assert resources["/etc/app/chosen.env"].mode == "0640"


def seen(mode: str, content: bytes) -> str:
    import hashlib

    return (f"type=regular file\nmode={mode}\nowner=root\ngroup=root\n"
            f"sha256={hashlib.sha256(content).hexdigest()}\n")


def test_a_new_private_file_is_created_0600_and_the_plan_says_why() -> None:
    step = decide(File("/etc/app/secret.env", b"x=1\n", private=True), "type=absent\n")
    upload = step.actions[0]
    assert isinstance(upload, Upload) and upload.mode == "0600"
    assert step.kind == "create" and f"mode 0600 ({NOTE})" in step.summary


@pytest.mark.parametrize(("mode", "wanted"), [("644", "0600"), ("640", "0600"), ("604", "0600"), ("755", "0700")])
def test_an_existing_readable_private_file_loses_group_and_other_bits(mode: str, wanted: str) -> None:
    step = decide(File("/etc/app/secret.env", b"x=1\n", private=True), seen(mode, b"x=1\n"))
    assert step.status == "change"
    chmod = ("chmod", "0" + wanted, "--", "/etc/app/secret.env")
    assert [a.argv for a in step.actions if isinstance(a, Run)] == [chmod]
    assert f"mode {mode} -> {wanted}" in step.summary and NOTE in step.summary


@pytest.mark.parametrize("mode", ["600", "400", "700"])
def test_a_private_file_nobody_else_can_read_is_left_as_it_is(mode: str) -> None:
    assert decide(File("/etc/app/secret.env", b"x=1\n", private=True), seen(mode, b"x=1\n")).status == "ok"


def test_new_content_of_a_readable_private_file_is_uploaded_0600() -> None:
    step = decide(File("/etc/app/secret.env", b"x=2\n", private=True), seen("644", b"x=1\n") + "content_b64=eD0xCg==\n")
    upload = step.actions[0]
    assert isinstance(upload, Upload) and upload.mode == "0600" and NOTE in step.summary


def test_an_explicit_mode_wins_over_private() -> None:
    step = decide(File("/etc/app/secret.env", b"x=1\n", mode="0644", private=True), seen("644", b"x=1\n"))
    assert step.status == "ok"


def test_private_is_internal_not_a_role_argument(tmp_path: Path) -> None:
    from configurator.errors import InputError
    from configurator.resources.schema import build

    with pytest.raises(InputError, match="unknown argument 'private'"):
        build(File, {"path": "/a", "private": True}, None, "file")  # type: ignore[arg-type]


def test_the_redactor_says_whether_text_holds_a_secret() -> None:
    redactor = Redactor([SECRET, "ab"])
    assert redactor.holds_secret(f"password = {SECRET}\n")
    assert not redactor.holds_secret("password = none, ab\n")  # too short to be a secret
    assert not Redactor().holds_secret(SECRET)
