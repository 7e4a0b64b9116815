"""The sudo password: read from --become-password-file, and clear failures when sudo wants one."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import pytest

from configurator.cli import arguments
from configurator.cli import commands as cli
from configurator.connections import ssh as transport
from configurator.engine import executor
from configurator.errors import HostFailed, InputError
from configurator.model.inventory import Host, Ssh
from configurator.output import redaction


def args(path: Path | None, ask: bool = False) -> argparse.Namespace:
    return argparse.Namespace(ask_become_pass=ask, become_password_file=path, redactor=redaction.Redactor())


@pytest.mark.parametrize("content, password", [
    (b"s3cret-pw\n", "s3cret-pw"),
    (b"s3cret-pw\r\n", "s3cret-pw"),
    (b"s3cret-pw", "s3cret-pw"),
    (b"two newlines\n\n", "two newlines\n"),  # only one is removed
    (b" spaces kept \n", " spaces kept "),
    ("pässwörd\n".encode(), "pässwörd"),
])
def test_the_password_file_is_read_with_one_trailing_newline_removed(tmp_path, content, password):
    path = tmp_path / "pw"
    path.write_bytes(content)
    assert arguments.become_password(args(path)) == password


@pytest.mark.parametrize("content", [None, b"", b"\n", b"\xff\xfe"])
def test_a_missing_empty_or_undecodable_password_file_is_bad_input(tmp_path, content):
    path = tmp_path / "pw"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        arguments.become_password(args(path))
    assert caught.value.exit_code == 65 and str(path) in str(caught.value)


def test_the_password_is_redacted(tmp_path):
    path = tmp_path / "pw"
    path.write_text("s3cret-pw\n")
    given = args(path)
    arguments.become_password(given)
    assert given.redactor.redact("sudo said s3cret-pw") == "sudo said ********"


@pytest.mark.parametrize("command", ["apply", "check", "verify", "drift"])
def test_every_command_that_connects_takes_a_password_file(tmp_path, command):
    parsed = cli.build_parser().parse_args([command, "inv.yml", "--become-password-file", str(tmp_path / "pw")])
    assert parsed.become_password_file == tmp_path / "pw"


def test_no_option_means_no_password():
    assert arguments.become_password(args(None)) is None


def test_prompt_and_file_together_are_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.build_parser().parse_args(["apply", "inv.yml", "-K", "--become-password-file", str(tmp_path / "pw")])
    assert caught.value.code == cli.USAGE
    assert "not allowed with" in capsys.readouterr().err


def test_apply_reads_the_file_once_passes_the_password_on_and_redacts_it(tmp_path, monkeypatch):
    path = tmp_path / "pw"
    path.write_text("Hunter-2-pw\n")
    inv = tmp_path / "inv.yml"
    inv.write_text("hosts: {a: {address: 192.0.2.1}}\n")
    seen = []
    monkeypatch.setattr(executor, "run_all", lambda plan, options, *a, **k: seen.append(options) or [])
    redactors: list[cli.redaction.Redactor] = []
    real_redactor = cli.redaction.Redactor
    monkeypatch.setattr(cli.redaction, "Redactor", lambda: redactors.append(real_redactor()) or redactors[-1])
    reads = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or real(self))
    assert cli.main(["check", str(inv), "--become-password-file", str(path), "--no-color"]) == 0
    assert [options.sudo_password for options in seen] == ["Hunter-2-pw"]
    assert reads.count(path) == 1
    assert redactors[0].redact("sudo said Hunter-2-pw") == "sudo said ********"


class DeadChannel:
    """A channel whose remote `sudo -n sh` already exited with a message before the first script."""

    def __init__(self, stderr: bytes) -> None:
        self.stderr = stderr

    def sendall(self, data: bytes) -> None:
        raise OSError("Socket is closed")

    def exit_status_ready(self) -> bool:
        return True

    def recv_stderr_ready(self) -> bool:
        return bool(self.stderr)

    def recv_stderr(self, size: int) -> bytes:
        data, self.stderr = self.stderr[:size], self.stderr[size:]
        return data


def session(stderr: bytes) -> transport.Session:
    found = object.__new__(transport.Session)
    found.host = Host("a", "192.0.2.1", Ssh(user="ops", become=True))
    found.user, found.started, found.round_trips, found.jumps = "ops", False, 0, ()
    found.client = SimpleNamespace()  # type: ignore[assignment]
    found.channel = DeadChannel(stderr)  # type: ignore[assignment]
    return found


def test_sudo_wanting_a_password_names_the_options_even_before_the_first_script():
    with pytest.raises(HostFailed) as caught:
        session(b"sudo: a password is required\n").run("true")
    text = str(caught.value)
    assert "a password is required" in text and "ops" in text
    assert "--ask-become-pass" in text and "--become-password-file" in text


def test_another_early_end_keeps_the_remote_message():
    with pytest.raises(HostFailed, match="the remote shell ended unexpectedly: sudo: unknown user"):
        session(b"sudo: unknown user\n").run("true")
