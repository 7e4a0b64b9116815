"""Verify without a network: running checks, role tests with rewritten asserts, exit codes, console lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import testinfra

from configurator.checks import role_tests, verify
from configurator.checks.results import CheckResult, host_status, run_check
from configurator.engine import executor, exitcodes
from configurator.errors import InputError, Location
from configurator.model.catalog import Catalog, Entry
from configurator.model.inventory import Host, Ssh
from configurator.output import verify as view
from configurator.resources.file import File
from configurator.resources.link import Link


def fail(message: str) -> None:
    raise AssertionError(message)


def boom() -> None:
    raise RuntimeError("no such command")


def skip() -> None:
    pytest.skip("not on this host")


@pytest.mark.parametrize(("test", "status", "message"), [
    (lambda: None, "passed", ""),
    (lambda: fail("service nginx is not running"), "failed", "service nginx is not running"),
    (lambda: fail(""), "failed", "assertion failed (no message)"),
    (boom, "error", "RuntimeError: no such command"),
    (skip, "skipped", "not on this host"),
])
def test_run_check_turns_every_outcome_into_a_result(test, status, message):
    result = run_check(test, host="h", name="n", kind="resource", subject="s")
    assert result.status == status
    assert result.message.startswith(message)


def write_role(tmp_path: Path, source: str, name: str = "test_demo.py") -> Path:
    folder = tmp_path / "demo"
    (folder / "tests").mkdir(parents=True, exist_ok=True)
    (folder / "tests" / name).write_text(textwrap.dedent(source))
    return folder


ROLE_TESTS = """
    import pytest

    def helper():
        return 503

    def test_status(host, role_vars):
        assert helper() == role_vars["want"]

    def test_message(role_vars):
        assert role_vars["want"] == 1, "GET / gave 503"

    def test_unknown(host, db):
        pass

    @pytest.mark.skip(reason="later")
    def test_skipped(host):
        raise AssertionError("never")

    def test_ok():
        pass
"""


def test_role_tests_are_called_with_fixtures_and_fail_with_rewritten_messages(tmp_path):
    tests = role_tests.discover("demo", write_role(tmp_path, ROLE_TESTS))
    assert [t.id for t in tests] == [f"demo/tests/test_demo.py::test_{n}"
                                     for n in ("status", "message", "unknown", "skipped", "ok")]
    fixtures = {"host": object(), "role_vars": {"want": 200}}
    outcomes = {t.id.rsplit("_", 1)[1]: run_check(lambda t=t: t.call(fixtures), host="h", name=t.id,
                                                  kind="role", subject=t.id) for t in tests}
    assert outcomes["status"].status == "failed"
    assert outcomes["status"].message == "assert 503 == 200\n +  where 503 = helper()"
    assert outcomes["message"].message.startswith("GET / gave 503\nassert 200 == 1")
    assert outcomes["unknown"].status == "error" and "unknown fixture 'db'" in outcomes["unknown"].message
    assert outcomes["ok"].status == "passed"
    assert tests[3].skip_reason == "later"


@pytest.mark.parametrize(("source", "line"), [("def test_x(:\n", 1), ("import no_such_module_here\n", 0)])
def test_a_role_test_that_does_not_load_is_bad_input(tmp_path, source, line):
    folder = write_role(tmp_path, source, "test_bad.py")
    with pytest.raises(InputError) as info:
        role_tests.discover("demo", folder)
    assert info.value.where == Location(str(folder / "tests" / "test_bad.py"), line)


def test_a_role_without_tests_has_none(tmp_path):
    assert role_tests.discover("demo", tmp_path) == []


class LocalConnection:
    """Stands in for the SSH connection: testinfra's local backend runs the same checks on this machine."""

    host = testinfra.get_host("local://")


def catalog(*resources: object) -> Catalog:
    host = Host("local", "127.0.0.1", Ssh())
    return Catalog(host, {}, tuple(Entry(r, "demo", Location("role.yml", 3)) for r in resources), {}, ())  # type: ignore[arg-type]


def test_generated_checks_cover_every_resource_and_report_drift(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"wanted\n")
    link = tmp_path / "l"
    link.symlink_to(path)
    resources = (File(str(path), b"wanted\n"), Link(str(link), str(path)), File(str(tmp_path / "gone"), state="absent"))
    results = verify._resource_checks(catalog(*resources), LocalConnection(), {})  # type: ignore[arg-type]
    assert [(r.subject, r.status) for r in results] == [(r.id, "passed") for r in resources]
    path.write_bytes(b"changed by hand\n")
    failed = [r for r in verify._resource_checks(catalog(*resources), LocalConnection(), {})  # type: ignore[arg-type]
              if r.failed]
    assert [(r.subject, r.role) for r in failed] == [(f"file[{path}]", "demo")]
    assert "content differs" in failed[0].message


def result(host: str, status: str, kind: str = "resource") -> CheckResult:
    return CheckResult(host, "check", kind, "s", status=status)  # type: ignore[arg-type]


@pytest.mark.parametrize(("by_host", "code"), [
    ({}, 0),
    ({"a": [result("a", "passed"), result("a", "skipped")]}, 0),
    ({"a": [result("a", "passed")], "b": [result("b", "failed")]}, 4),
    ({"a": [result("a", "error")]}, 4),
    ({"a": [result("a", "unreachable", "host")]}, 3),
    ({"a": [result("a", "unreachable", "host")], "b": [result("b", "failed")]}, 4),
])
def test_exit_code(by_host, code):
    assert exitcodes.verify(host_status(r) for r in by_host.values()) == code


def test_junit_has_one_case_per_host_and_check_with_the_host_as_class():
    cases = view.junit_cases({"a": [result("a", "passed"), result("a", "failed")],
                              "b": [result("b", "unreachable", "host")]})
    assert [(c.classname, c.status) for c in cases] == [("a", "passed"), ("a", "failed"), ("b", "error")]


@pytest.mark.parametrize(("verbose", "shown"), [(0, ["FAILED"]), (1, ["PASSED", "FAILED"])])
def test_console_lines_show_failures_with_reasons(verbose, shown):
    results = [CheckResult("a", "ok check", "resource", "s"),
               CheckResult("a", "svc check", "resource", "s", status="failed", message="not running\nat all")]
    text = view.lines("a", results, verbose)
    assert [line.split()[1] for line in text.splitlines() if line.startswith("a: ") and "=" not in line] == shown
    assert "a: FAILED      svc check: not running\n    at all" in text
    assert text.endswith("a: failed  passed=1 failed=1 error=0 skipped=0\n")


@pytest.mark.parametrize(("statuses", "verified", "code", "expected"), [
    ({"a": "failed"}, {"a": "failed"}, 1, 4),
    ({"a": "failed", "b": "failed"}, {"a": "failed"}, 1, 1),
    ({"a": "changed"}, {"a": "passed"}, 0, 0),
    ({"a": "unreachable"}, {}, 3, 3),
])
def test_after_apply_exit_code(statuses, verified, code, expected):
    hook = verify.Verifier()
    hook.results = {h: [result(h, s)] for h, s in verified.items()}
    results = [executor.HostResult(h, s) for h, s in statuses.items()]
    assert exitcodes.apply(results) == code  # the code before verification is taken into account
    assert exitcodes.apply(results, verify_failed=hook.failed_hosts()) == expected
