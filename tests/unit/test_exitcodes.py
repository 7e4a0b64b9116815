"""The exit-code policy of every command, rule by rule (README "Exit codes"), and the cost of start-up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from configurator.engine import exitcodes
from configurator.engine.executor import HostResult
from configurator.engine.status import CheckStatus, DriftStatus, HostStatus
from configurator.errors import ConfigureError, HostFailed, InputError, Unreachable


def hosts(*statuses: str) -> list[HostResult]:
    return [HostResult(f"h{n}", HostStatus(s)) for n, s in enumerate(statuses)]


@pytest.mark.parametrize(("statuses", "check", "detailed", "code"), [
    ((), False, False, 0),
    (("ok", "ok"), False, False, 0),
    (("changed",), False, False, 0),  # applied fine, no --detailed-exitcode
    (("changed", "ok"), False, True, 2),  # made changes, asked to say so
    (("pending",), True, False, 2),  # check: changes pending
    (("pending",), False, False, 0),  # pending outside check mode (an unknown step) is not "changes"
    (("changed",), True, False, 0),
    (("unreachable", "pending"), True, False, 3),  # 3 over 2
    (("unreachable", "changed"), False, True, 3),
    (("failed", "unreachable", "pending"), True, True, 1),  # 1 over 3 over 2
    (("skipped", "ok"), False, False, 1),  # hosts skipped by a rolling run
    (("skipped", "unreachable"), False, False, 1),
])
def test_apply_and_check(statuses, check, detailed, code):
    assert exitcodes.apply(hosts(*statuses), check=check, detailed=detailed) == code


@pytest.mark.parametrize(("statuses", "verify_failed", "code"), [
    (("failed",), {"h0"}, 4),  # verification was the only failure
    (("failed", "skipped"), {"h0"}, 4),  # ... and it stopped the next batch
    (("failed", "failed"), {"h0"}, 1),  # another host failed for another reason
    (("failed", "unreachable"), {"h0"}, 4),
    (("ok", "unreachable"), set(), 3),
    (("changed",), set(), 0),
])
def test_apply_verify_gives_4_when_verification_was_the_only_failure(statuses, verify_failed, code):
    assert exitcodes.apply(hosts(*statuses), verify_failed=verify_failed) == code


def test_an_interrupted_run_is_130_whatever_the_hosts_did():
    assert exitcodes.apply(hosts("failed", "changed"), detailed=True, interrupted=True) == 130


@pytest.mark.parametrize(("statuses", "code"), [
    ((), 0), (("passed", "passed"), 0), (("unreachable", "passed"), 3), (("failed", "passed"), 4),
    (("unreachable", "failed"), 4),  # 4 over 3
])
def test_verify(statuses, code):
    assert exitcodes.verify(CheckStatus(s) for s in statuses) == code


@pytest.mark.parametrize(("statuses", "code"), [
    ((), 0), (("clean",), 0), (("clean", "drift"), 2), (("drift", "unreachable"), 3),
    (("unreachable", "error", "drift"), 1),  # 1, then 3, then 2
])
def test_drift(statuses, code):
    assert exitcodes.drift(DriftStatus(s) for s in statuses) == code


@pytest.mark.parametrize(("error", "code"), [
    (ConfigureError("x"), 1), (HostFailed("x"), 1), (Unreachable("x"), 3), (InputError("x"), 65)])
def test_errors_carry_the_policy_s_codes(error, code):
    assert error.exit_code == code


def test_usage_errors_are_64_not_2(capsys):
    from configurator.cli import commands

    with pytest.raises(SystemExit) as caught:
        commands.main(["apply", "--no-such-option"])
    assert caught.value.code == exitcodes.USAGE == 64


@pytest.mark.parametrize("argv", [["--help"], ["apply", "--help"], ["check", "--help"]])
def test_help_and_apply_load_no_testinfra_sqlite_or_sandbox(argv):
    code = ("import sys\nfrom configurator.cli import commands\n"
            f"try:\n    commands.main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('testinfra', 'sqlite3', 'pytest')"
            " or m.startswith(('configurator.sandbox', 'configurator.checks'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"
