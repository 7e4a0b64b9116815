"""Passphrase sources: --vault-password-file, then $CONFIGURE_VAULT_PASSWORD, then the prompt."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest

from configurator.cli.password import add_password_option, source_from_args
from configurator.vault.errors import VaultError
from configurator.vault.passphrase import ENV_VAR, PassphraseSource


def prompter(*answers: str) -> tuple[Callable[[str], str], list[str]]:
    asked: list[str] = []
    replies = iter(answers)

    def prompt(text: str) -> str:
        asked.append(text)
        return next(replies)

    return prompt, asked


@pytest.mark.parametrize("use_file, env, expected", [
    (True, "from-env", "from-file"),
    (True, "", "from-file"),
    (False, "from-env", "from-env"),
    (False, "", "from-prompt"),
])
def test_precedence_file_then_environment_then_prompt(tmp_path: Path, use_file: bool, env: str,
                                                       expected: str) -> None:
    secret = tmp_path / "pass"
    secret.write_text("from-file\n")
    prompt, asked = prompter("from-prompt")
    source = PassphraseSource(secret if use_file else None, {ENV_VAR: env} if env else {}, prompt)
    assert source.get() == expected
    assert bool(asked) is (expected == "from-prompt")


def test_the_passphrase_is_read_once(tmp_path: Path) -> None:
    prompt, asked = prompter("first", "second")
    source = PassphraseSource(None, {}, prompt)
    assert [source.get(), source.get(), source.get(confirm=True)] == ["first"] * 3
    assert len(asked) == 1


@pytest.mark.parametrize("content, expected", [("pw\n", "pw"), ("pw\r\n", "pw"), ("  pw x", "  pw x"),
                                               ("pw\n\n", "pw")])
def test_password_file_loses_only_its_trailing_newlines(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "pass"
    path.write_text(content)
    assert PassphraseSource(path, {}).get() == expected


@pytest.mark.parametrize("content, message", [(None, "cannot read the vault password file"),
                                              ("\n", "the vault password file is empty")])
def test_bad_password_file_names_it(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "pass"
    if content is not None:
        path.write_text(content)
    with pytest.raises(VaultError, match=message) as caught:
        PassphraseSource(path, {ENV_VAR: "ignored"}).get()
    assert str(caught.value).startswith(str(path))


def test_confirmation_asks_twice_and_refuses_a_mismatch() -> None:
    prompt, asked = prompter("one", "two")
    with pytest.raises(VaultError, match="do not match"):
        PassphraseSource(None, {}, prompt).get(confirm=True)
    assert len(asked) == 2
    prompt, _ = prompter("same", "same")
    assert PassphraseSource(None, {}, prompt).get(confirm=True) == "same"


def test_no_terminal_and_no_other_source_is_a_clear_error() -> None:
    def closed(text: str) -> str:
        raise EOFError

    with pytest.raises(VaultError, match=f"no vault passphrase.*{ENV_VAR}"):
        PassphraseSource(None, {}, closed).get()


def test_empty_prompt_answer_is_refused() -> None:
    prompt, _ = prompter("")
    with pytest.raises(VaultError, match="empty"):
        PassphraseSource(None, {}, prompt).get()


@pytest.mark.parametrize("use_file, env, origin", [(True, "x", "--vault-password-file"), (False, "x", f"${ENV_VAR}"),
                                                   (False, "", "the prompt")])
def test_origin_says_where_the_passphrase_came_from(use_file: bool, env: str, origin: str) -> None:
    source = PassphraseSource(Path("pw.txt") if use_file else None, {ENV_VAR: env})
    assert origin in source.origin


def test_command_line_option() -> None:
    parser = argparse.ArgumentParser()
    add_password_option(parser)
    assert source_from_args(parser.parse_args(["--vault-password-file", "p"])).file == Path("p")
    assert source_from_args(parser.parse_args([])).file is None
    assert source_from_args(argparse.Namespace()).file is None


def test_no_terminal_fails_at_once_instead_of_reading_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    from configurator.vault import passphrase

    monkeypatch.setattr(passphrase, "_terminal", lambda: False)
    with pytest.raises(VaultError, match="no terminal"):
        PassphraseSource(None, {}).get()
