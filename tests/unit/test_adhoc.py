"""`configure run` as data: grouping of outcomes, exit codes, the command sent; and the CLI over local hosts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from configurator.cli import commands as cli
from configurator.engine import adhoc, exitcodes
from configurator.engine.adhoc import Outcome, State
from configurator.errors import InputError
from configurator.output import adhoc as view


def ok(host: str, out: str = "active\n") -> Outcome:
    return Outcome(host, State.OK, 0, out)


GROUPING = [
    pytest.param([ok("a"), ok("b"), ok("c")], [(["a", "b", "c"], 0)], id="all-same"),
    pytest.param([ok("a"), Outcome("b", State.FAILED, 3, "inactive\n"), ok("c")],
                 [(["a", "c"], 0), (["b"], 3)], id="failed-last"),
    pytest.param([ok("a", "x\n"), ok("b", "y\n")], [(["a"], 0), (["b"], 0)], id="output-differs"),
    pytest.param([Outcome("a", State.OK, 0, "x", "warn"), ok("b", "x")], [(["a"], 0), (["b"], 0)],
                 id="stderr-differs"),
    pytest.param([Outcome("a", State.UNREACHABLE, error="refused"), ok("b"), Outcome("c", State.FAILED, 1, "active\n")],
                 [(["b"], 0), (["c"], 1), (["a"], None)], id="unreachable-after-failed"),
    pytest.param([Outcome("a", State.NOT_STARTED, error="i"), Outcome("b", State.NOT_STARTED, error="i")],
                 [(["a", "b"], None)], id="not-started-fold"),
]


@pytest.mark.parametrize(("outcomes", "groups"), GROUPING)
def test_fold_groups_identical_output_and_status(outcomes: list[Outcome], groups: list[tuple[list[str], int]]) -> None:
    assert [(g.hosts, g.status) for g in view.fold(outcomes)] == groups


def test_render_prints_each_group_once_with_its_hosts() -> None:
    outcomes = [ok("a"), ok("b"), Outcome("c", State.FAILED, 3, "inactive\n", "oops\n"),
                Outcome("d", State.UNREACHABLE, error="connect to 198.18.0.9:2 failed: Connection refused")]
    text = view.render(view.fold(outcomes))
    assert text == ("2 hosts: a, b | exit 0\n    active\n"
                    "c | exit 3\n    inactive\n  stderr:\n    oops\n"
                    "d | unreachable | connect to 198.18.0.9:2 failed: Connection refused\n")
    assert view.summary("true", outcomes, 1.234) == "Ran `true` on 4 hosts: 2 ok, 1 failed, 1 unreachable (1.23 s)\n"


def test_a_timed_out_command_says_failed_with_its_reason() -> None:
    head = view.head(view.fold([Outcome("a", State.FAILED, error="command timed out after 2s")])[0])
    assert head == "a | failed | command timed out after 2s"


@pytest.mark.parametrize(("unreachable", "failed", "interrupted", "code"), [
    (False, False, False, 0), (False, True, False, 1), (True, False, False, 3), (True, True, False, 3),
    (True, True, True, 130)])
def test_exit_codes(unreachable: bool, failed: bool, interrupted: bool, code: int) -> None:
    assert exitcodes.adhoc(unreachable=unreachable, failed=failed, interrupted=interrupted) == code


def test_every_word_is_quoted() -> None:
    command = adhoc.from_argv(["echo", "a b", "$(id)", "it's"])
    assert command.script == "echo 'a b' '$(id)' 'it'\"'\"'s'"


def test_a_script_goes_to_sh_on_stdin_and_is_bounded() -> None:
    assert adhoc.from_script(b"echo $HOME\n", "s.sh").script == "printf '%s' 'echo $HOME\n' | sh -s"
    with pytest.raises(InputError, match="at most"):
        adhoc.from_script(b"#" * (adhoc.MAX_SCRIPT + 1), "big.sh")
    with pytest.raises(InputError, match="no command"):
        adhoc.from_argv([])


@pytest.fixture()
def local_inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inv.yml"
    path.write_text("hosts:\n  a: {connection: local}\n  b: {connection: local}\n"
                    "  gone: {address: 127.0.0.1, port: 1, connect_timeout: 2}\n"
                    "groups:\n  g: {hosts: [a, b]}\n")
    return path


def test_cli_groups_local_hosts_and_picks_the_code(local_inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", str(local_inventory), "g", "--", "sh", "-c", "echo same"]) == 0
    assert capsys.readouterr().out.startswith("2 hosts: a, b | exit 0\n    same\n")
    assert cli.main(["run", str(local_inventory), "all", "--", "true"]) == 3
    assert cli.main(["run", str(local_inventory), "a", "--", "sh", "-c", "exit 5"]) == 1


def test_cli_json_shape(local_inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", str(local_inventory), "a", "--json", "--", "sh", "-c", "echo o; echo e >&2; exit 2"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["exit"] == 1
    assert set(data["hosts"]) == {"a"}
    entry = data["hosts"]["a"]
    assert (entry["state"], entry["status"], entry["stdout"], entry["stderr"]) == ("failed", 2, "o\n", "e\n")
    assert isinstance(entry["seconds"], float)


def test_cli_unknown_pattern_is_bad_input(local_inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", str(local_inventory), "nothere", "--", "true"]) == exitcodes.INPUT
    assert "pattern 'nothere' matches no host or group" in capsys.readouterr().err


def test_cli_timeout_ends_the_command(local_inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", str(local_inventory), "a", "--timeout", "1", "--", "sleep", "30"]) == 1
    assert "a | failed | command timed out after 1s" in capsys.readouterr().out


def test_cli_refuses_a_zero_timeout_and_a_nan_one(local_inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", str(local_inventory), "a", "--timeout", "0", "--", "true"]) == exitcodes.INPUT
    with pytest.raises(SystemExit) as exited:
        cli.main(["run", str(local_inventory), "a", "--timeout", "nan", "--", "true"])
    assert exited.value.code == exitcodes.USAGE
