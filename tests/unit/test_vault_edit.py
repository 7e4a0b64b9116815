"""`vault edit`: re-encrypts what the editor wrote, and never leaves plaintext behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from configurator.errors import ConfigureError
from configurator.vault.cipher import ScryptParams, decrypt, encrypt, parse
from configurator.vault.editing import PREFIX, TMPFS, edit, private_dir, sweep
from configurator.vault.errors import VaultError
from configurator.vault.passphrase import PassphraseSource

FAST = ScryptParams(n=2**10, r=8, p=1)
PASSPHRASE = "edit-me-passphrase"
BEFORE = b"db_password: old-secret\n"
needs_shm = pytest.mark.skipif(not os.path.isdir(TMPFS), reason="no /dev/shm")


def source() -> PassphraseSource:
    return PassphraseSource(None, {"CONFIGURE_VAULT_PASSWORD": PASSPHRASE})


def editor(tmp_path: Path, body: str) -> str:
    """A shell script used as EDITOR; it records the path it was given and the modes it saw."""
    script = tmp_path / "editor.sh"
    record = tmp_path / "record"
    script.write_text(f'#!/bin/sh\necho "$1 $(stat -c %a "$1") $(stat -c %a "$(dirname "$1")")" > {record}\n{body}\n')
    script.chmod(0o755)
    return str(script)


def recorded(tmp_path: Path) -> tuple[Path, str, str]:
    path, file_mode, dir_mode = (tmp_path / "record").read_text().split()
    return Path(path), file_mode, dir_mode


@pytest.fixture
def secrets_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.yml"
    path.write_bytes(encrypt(BEFORE, PASSPHRASE, FAST))
    path.chmod(0o640)
    return path


@needs_shm
def test_edit_re_encrypts_what_the_editor_wrote(tmp_path: Path, secrets_file: Path) -> None:
    old = parse(secrets_file.read_bytes())
    assert edit(secrets_file, source(), editor(tmp_path, "sed -i 's/old-secret/new-secret/' \"$1\"")) is True
    data = secrets_file.read_bytes()
    assert b"secret" not in data
    assert decrypt(data, PASSPHRASE) == b"db_password: new-secret\n"
    new = parse(data)
    assert (new.salt, new.params) == (old.salt, old.params) and new.nonce != old.nonce
    assert oct(secrets_file.stat().st_mode & 0o777) == oct(0o640)
    plain, file_mode, dir_mode = recorded(tmp_path)
    assert plain.name == "secrets.yml" and str(plain).startswith(f"{TMPFS}/{PREFIX}")
    assert (file_mode, dir_mode) == ("600", "700")
    assert not plain.parent.exists()


@needs_shm
@pytest.mark.parametrize("body, message", [
    ("echo 'db_password: half-written' > \"$1\"; exit 1", "exited with status 1"),
    ("exit 3", "exited with status 3"),
])
def test_failing_editor_leaves_the_vault_unchanged_and_no_plaintext(tmp_path: Path, secrets_file: Path,
                                                                    body: str, message: str) -> None:
    before = secrets_file.read_bytes()
    with pytest.raises(ConfigureError, match=message):
        edit(secrets_file, source(), editor(tmp_path, body))
    assert secrets_file.read_bytes() == before
    plain, _, _ = recorded(tmp_path)
    assert not plain.exists() and not plain.parent.exists()
    assert not [p for p in Path(TMPFS).glob(f"{PREFIX}{os.getpid()}-*")]
    assert sorted(p.name for p in secrets_file.parent.iterdir()) == ["editor.sh", "record", "secrets.yml"]


def test_unchanged_content_is_not_rewritten(tmp_path: Path, secrets_file: Path) -> None:
    before = secrets_file.read_bytes()
    assert edit(secrets_file, source(), editor(tmp_path, "true"), root=str(tmp_path)) is False
    assert secrets_file.read_bytes() == before


def test_the_editor_does_not_inherit_the_passphrase(tmp_path: Path, secrets_file: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIGURE_VAULT_PASSWORD", PASSPHRASE)
    monkeypatch.setenv("OTHER_VARIABLE", "kept")
    seen = tmp_path / "env"
    edit(secrets_file, source(), editor(tmp_path, f"env > {seen}"), root=str(tmp_path))
    assert "OTHER_VARIABLE=kept" in seen.read_text() and PASSPHRASE not in seen.read_text()


def test_edit_through_a_symlink_updates_its_target(tmp_path: Path, secrets_file: Path) -> None:
    link = tmp_path / "link.yml"
    link.symlink_to(secrets_file.name)
    assert edit(link, source(), editor(tmp_path, "echo 'b: 2' > \"$1\""), root=str(tmp_path))
    assert link.is_symlink() and decrypt(secrets_file.read_bytes(), PASSPHRASE) == b"b: 2\n"


def test_missing_editor_is_a_clear_error(tmp_path: Path, secrets_file: Path) -> None:
    with pytest.raises(ConfigureError, match="editor '/nonexistent/editor' not found"):
        edit(secrets_file, source(), "/nonexistent/editor", root=str(tmp_path))


def test_editor_command_may_have_arguments(tmp_path: Path, secrets_file: Path) -> None:
    script = editor(tmp_path, 'printf "%s\\n" "$2" > "$3"')
    assert edit(secrets_file, source(), f"{script} --flag 'a: b'", root=str(tmp_path))
    assert decrypt(secrets_file.read_bytes(), PASSPHRASE) == b"a: b\n"


def test_edit_creates_a_new_vault_asking_the_passphrase_twice(tmp_path: Path) -> None:
    answers = iter([PASSPHRASE, PASSPHRASE])
    path = tmp_path / "new.yml"
    created = edit(path, PassphraseSource(None, {}, lambda _: next(answers)),
                   editor(tmp_path, "echo 'token: abcdef' > \"$1\""), root=str(tmp_path))
    assert created and decrypt(path.read_bytes(), PASSPHRASE) == b"token: abcdef\n"
    assert path.stat().st_mode & 0o777 == 0o600


def test_edit_refuses_a_plain_file_and_a_wrong_passphrase(tmp_path: Path, secrets_file: Path) -> None:
    plain = tmp_path / "plain.yml"
    plain.write_bytes(BEFORE)
    with pytest.raises(VaultError, match="not a vault file"):
        edit(plain, source(), "true", root=str(tmp_path))
    with pytest.raises(VaultError, match="wrong passphrase"):
        edit(secrets_file, PassphraseSource(None, {"CONFIGURE_VAULT_PASSWORD": "nope"}), "true", root=str(tmp_path))
    assert plain.read_bytes() == BEFORE


def test_private_dir_is_removed_even_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), private_dir(str(tmp_path)) as folder:
        (folder / "plain").write_text("secret")
        raise RuntimeError("boom")
    assert not folder.exists()


def test_sweep_removes_folders_of_dead_processes_only(tmp_path: Path) -> None:
    child = subprocess.Popen(["true"])  # its pid is free once it has been waited for
    child.wait()
    stale = tmp_path / f"{PREFIX}{child.pid}-abc"
    live = tmp_path / f"{PREFIX}{os.getpid()}-abc"
    other = tmp_path / "unrelated"
    for folder in (stale, live, other):
        folder.mkdir()
        (folder / "plain").write_text("x")
    sweep(str(tmp_path))
    assert not stale.exists() and live.exists() and other.exists()


def test_sigterm_while_editing_removes_the_plaintext(tmp_path: Path, secrets_file: Path) -> None:
    """The editor kills its parent with SIGTERM: the run ends (143), the vault and no plaintext remain."""
    before = secrets_file.read_bytes()
    script = editor(tmp_path, 'kill -TERM "$PPID"; sleep 30')
    program = textwrap.dedent(f"""
        from pathlib import Path
        from configurator.vault.editing import edit
        from configurator.vault.passphrase import PassphraseSource
        edit(Path({str(secrets_file)!r}), PassphraseSource(None, {{"CONFIGURE_VAULT_PASSWORD": {PASSPHRASE!r}}}),
             {script!r}, root={str(tmp_path)!r})
    """)
    done = subprocess.run([sys.executable, "-c", program], timeout=20, check=False,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 128 + signal.SIGTERM
    assert secrets_file.read_bytes() == before
    plain, _, _ = recorded(tmp_path)
    assert not plain.parent.exists()
