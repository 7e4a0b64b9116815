"""Drift findings from plan and checks, the exit code, and the JSON, JUnit and Markdown reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from configurator.checks import drift
from configurator.checks.findings import HostDrift, StepView, findings
from configurator.checks.history import classify
from configurator.checks.results import CheckResult
from configurator.output import drift as reports
from configurator.output import junit
from configurator.output.markdown import clip, fence, render

DIFF = "--- /etc/a (host)\n+++ /etc/a (wanted)\n@@ -1 +1 @@\n-password=hunter2\n+password=s3cret\n"


def check(subject: str, status: str = "passed", kind: str = "resource", message: str = "") -> CheckResult:
    return CheckResult("node9", f"{subject}: check", kind, subject, "demo", status, message)  # type: ignore[arg-type]


def drifted() -> list[HostDrift]:
    steps = [StepView("file[/etc/a]", "demo", "pending", "modify content", DIFF),
             StepView("service[nginx]", "demo", "pending", "start"),
             StepView("package[nginx-light]", "demo", "ok")]
    checks = [check("file[/etc/a]", "failed", message="/etc/a content differs"),
              check("service[nginx]", "failed", message="service nginx is not running"),
              check("package[nginx-light]"),
              check("demo/tests/test_x.py::test_http", "failed", "role", "GET gave 502\nassert 502 == 200")]
    nine = HostDrift("node9", "drift", "", steps, checks, findings("node9", steps, checks))
    return [nine, HostDrift("node10", "clean", "", [StepView("package[nginx-light]", "demo", "ok")]),
            HostDrift("node11", "unreachable", "connect to 198.18.0.21:22 timed out")]


@pytest.mark.parametrize(("statuses", "failed_checks", "expected"), [
    (["ok", "ok"], [], []),
    (["pending", "ok"], [], ["file[/etc/a]"]),
    (["unknown", "ok"], [], ["file[/etc/a]"]),
    (["ok", "ok"], ["user[u]"], ["user[u]"]),
    (["pending", "ok"], ["file[/etc/a]"], ["file[/etc/a]"]),
])
def test_a_resource_is_one_finding_whether_the_plan_or_a_check_saw_it(statuses, failed_checks, expected):
    steps = [StepView("file[/etc/a]", "demo", statuses[0]), StepView("user[u]", "demo", statuses[1])]
    checks = [check(s, "failed", message="bad") for s in failed_checks]
    assert [f.subject for f in findings("node9", steps, checks)] == expected


def test_failed_role_tests_are_check_findings_with_their_message():
    found = findings("node9", [], [check("r/tests/test_a.py::test_b", "error", "role", "boom")])
    assert [(f.kind, f.subject, f.checks) for f in found] == [
        ("check", "r/tests/test_a.py::test_b", [("r/tests/test_a.py::test_b: check", "boom")])]


@pytest.mark.parametrize(("statuses", "code"), [
    ([], 0), (["clean"], 0), (["clean", "drift"], 2), (["drift", "unreachable"], 3),
    (["unreachable", "error", "drift"], 1),
])
def test_exit_code(statuses, code):
    assert drift.exit_code([HostDrift(f"h{i}", s) for i, s in enumerate(statuses)]) == code


def test_junit_fails_exactly_the_drifted_resources_and_checks():
    cases = reports.junit_cases(drifted(), str)
    failed = {(c.classname, c.name) for c in cases if c.status == "failed"}
    assert failed == {("node9", "file[/etc/a]"), ("node9", "service[nginx]"),
                      ("node9", "demo/tests/test_x.py::test_http")}
    assert [(c.name, c.status) for c in cases if c.classname != "node9"] == [
        ("package[nginx-light]", "passed"), ("host", "error")]
    http = next(c for c in cases if c.name.endswith("test_http"))
    assert "assert 502 == 200" in http.message
    ET.fromstring(junit.render("drift", cases))


def test_json_names_findings_with_their_state_and_redacts():
    hosts = drifted()
    classes = classify([f.key for f in hosts[0].findings], {("node9", "service[nginx]"): "t0"}, ["node9", "node10"])
    data = json.loads(json.dumps(reports.as_json(hosts, classes, "t1", lambda s: s.replace("hunter2", "***"))))
    nine = data["hosts"][0]
    assert [(f["subject"], f["state"], f["since"]) for f in nine["findings"]] == [
        ("file[/etc/a]", "new", "t1"), ("service[nginx]", "still", "t0"),
        ("demo/tests/test_x.py::test_http", "new", "t1")]
    assert "hunter2" not in json.dumps(data) and "***" in nine["findings"][0]["diff"]
    assert data["exit_code"] == 3 and data["summary"]["unreachable"] == 1


def test_markdown_says_new_still_and_resolved_and_shows_the_redacted_diff():
    hosts = drifted()
    classes = classify([f.key for f in hosts[0].findings], {("node9", "service[nginx]"): "t0",
                                                             ("node10", "user[u]"): "t0"}, ["node9", "node10"])
    text = render(hosts, classes, "t1", 3, lambda s: s.replace("hunter2", "***"))
    assert "# Drift: 2 resources drifted, 1 role tests failed, on 1 of 3 hosts" in text
    assert "- **new**: resource `file[/etc/a]` (role demo): modify content" in text
    assert "- still present since t0: resource `service[nginx]`" in text
    assert "- node10: `user[u]` (present since t0)" in text
    assert "-password=***" in text and "hunter2" not in text
    assert "- node11 unreachable: connect to 198.18.0.21:22 timed out" in text
    assert "| node9 | drift | 2 | 1 | 0 |" in text


@pytest.mark.parametrize(("text", "expected"), [("plain", "```"), ("a ``` b", "````"), ("`````", "``````")])
def test_fence_is_longer_than_any_backtick_run(text, expected):
    assert fence(text) == expected


@pytest.mark.parametrize(("lines", "limit", "kept", "note"), [(3, 5, 3, False), (5, 5, 5, False), (9, 5, 5, True)])
def test_clip(lines, limit, kept, note):
    out = clip("".join(f"l{i}\n" for i in range(lines)), limit).splitlines()
    assert out[:kept] == [f"l{i}" for i in range(kept)]
    assert (out[-1] == f"... {lines - limit} more lines (see drift.json)") is note
