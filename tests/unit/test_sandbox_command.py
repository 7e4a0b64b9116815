"""The `configure sandbox` subcommands: arguments, and the non-root error."""

import argparse

import pytest

from configurator.cli.sandbox import add_parser
from configurator.sandbox import SandboxError, down, status, up
from configurator.sandbox.proxy import config_text, write_config


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="configure")
    add_parser(top.add_subparsers(dest="command"), "sandbox", "local test hosts")
    return top


def test_up_takes_a_host_count_defaulting_to_three():
    assert parser().parse_args(["sandbox", "up"]).hosts == 3
    args = parser().parse_args(["sandbox", "up", "--hosts", "7"])
    assert args.hosts == 7 and callable(args.func)


@pytest.mark.parametrize("action", ["down", "status"])
def test_down_and_status_are_registered(action):
    assert callable(parser().parse_args(["sandbox", action]).func)


def test_an_action_is_required():
    with pytest.raises(SystemExit):
        parser().parse_args(["sandbox"])


def test_non_root_gets_one_line_and_exit_code_1(monkeypatch, capsys):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    args = parser().parse_args(["sandbox", "up", "--hosts", "2"])
    assert args.func(args) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "root" in err


@pytest.mark.parametrize("call", [lambda: up(2), lambda: down()])
def test_api_refuses_non_root(monkeypatch, call):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(SandboxError, match="root"):
        call()


def test_status_without_a_sandbox_is_empty(tmp_path):
    assert status(tmp_path) == []


def test_proxy_binds_only_the_gateway_and_uses_the_machine_mirror(tmp_path):
    text = config_text(tmp_path)
    assert "BindAddress: 198.18.0.1\n" in text and "Port: 3142\n" in text
    assert f"CacheDir: {tmp_path / 'cache'}\n" in text
    conf = write_config(tmp_path)
    assert (conf / "backends_debian").read_text() == "http://deb.debian.org/debian/\n"
