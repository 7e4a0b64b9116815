"""Waivers and findings that do not cry wolf: not-checkable resources, waived and expired findings,
and waiver files with their mistakes named by file:line."""

from __future__ import annotations

import datetime as dt

import pytest

from configurator.checks import drift, waivers
from configurator.checks.findings import HostDrift, StepView, findings, waive
from configurator.checks.results import CheckResult
from configurator.errors import InputError
from configurator.output import drift as reports
from configurator.output.markdown import render

NOW = dt.datetime(2026, 11, 29, 22, 0, tzinfo=dt.UTC)
GOOD = """\
- host: node*
  resource: file[/etc/motd]
  reason: the banner team owns it (OPS-1)
  expires: 2026-12-01
- {host: node9, resource: 'service[*]', reason: maintenance, expires: "2026-11-29T21:00:00Z"}
"""


def waivers_of(tmp_path, text=GOOD):
    path = tmp_path / "waivers.yml"
    path.write_text(text)
    return waivers.load(path)


def test_a_waiver_file_loads(tmp_path):
    first, second = waivers_of(tmp_path)
    assert (first.host, first.resource, first.expires) == ("node*", "file[/etc/motd]",
                                                           dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert second.expires == dt.datetime(2026, 11, 29, 21, tzinfo=dt.UTC) and str(second.where).endswith(":5")


@pytest.mark.parametrize(("text", "line", "message"), [
    ("host: a\n", 1, "must be a list"),
    ("- 3\n", 1, "must be a mapping"),
    ("- {host: a, resource: b, reason: c}\n", 1, "needs `expires`"),
    ("- host: a\n  resource: b\n  reason: ''\n  expires: 2026-01-01\n", 3, "`reason` must be a non-empty text"),
    ("- host: a\n  resource: b\n  reason: c\n  expires: soon\n", 4, "`expires` must be a date"),
    ("- host: a\n  resource: b\n  reason: c\n  expires: 2026-01-01\n  owner: me\n", 5, "unknown key 'owner'"),
    ("- host: a\n  host: b\n", 2, "duplicate key"),
])
def test_a_bad_waiver_file_names_file_and_line(tmp_path, text, line, message):
    with pytest.raises(InputError) as caught:
        waivers_of(tmp_path, text)
    assert f"waivers.yml:{line}:" in str(caught.value) and message in str(caught.value)


@pytest.mark.parametrize(("host", "subject", "now", "holds"), [
    ("node9", "file[/etc/motd]", NOW, True),
    ("node9", "file[/etc/motd]", dt.datetime(2026, 12, 1, tzinfo=dt.UTC), False),  # expired at 00:00 UTC
    ("node9", "service[nginx]", NOW, False),  # expired at 21:00
    ("web1", "file[/etc/motd]", NOW, None),  # no waiver names it
])
def test_find(tmp_path, host, subject, now, holds):
    found, held = waivers.find(waivers_of(tmp_path), host, subject, now)
    assert (None if found is None else held) == holds


def steps():
    return [StepView("file[/etc/motd]", "base", "pending", "content changed", "-a\n+b\n"),
            StepView("command[/usr/bin/rotate]", "base", "pending", "runs every time", checkable=False),
            StepView("package[nginx]", "base", "ok")]


def host(checks=()) -> HostDrift:
    found = findings("node9", steps(), list(checks))
    return HostDrift("node9", "drift" if found else "clean", "", steps(), list(checks), found)


def test_a_resource_that_is_not_checkable_is_never_drift():
    failed = CheckResult("node9", "c: check", "resource", "command[/usr/bin/rotate]", "base", "failed", "x")
    h = host([failed])
    assert [f.subject for f in h.findings] == ["file[/etc/motd]"]
    assert [s.id for s in h.unchecked] == ["command[/usr/bin/rotate]"]


@pytest.mark.parametrize(("now", "status", "code"), [(NOW, "clean", 0),
                                                      (dt.datetime(2026, 12, 1, tzinfo=dt.UTC), "drift", 2)])
def test_a_waived_finding_exits_0_until_its_expiry_then_2(tmp_path, now, status, code):
    h = waive(host(), waivers_of(tmp_path), now)
    assert h.status == status and drift.exit_code([h]) == code
    assert h.findings[0].waiver is not None and h.findings[0].waived is (code == 0)


def test_reports_show_waived_and_not_checkable(tmp_path):
    h = waive(host(), waivers_of(tmp_path), NOW)
    classes = drift.history.classify([f.key for f in h.findings], {}, ["node9"])
    text = render([h], classes, "t1", 0)
    assert "waived until 2026-12-01 (the banner team owns it (OPS-1))" in text
    assert "## Not checkable" in text and "`command[/usr/bin/rotate]`" in text
    data = reports.as_json([h], classes, "t1", str)
    assert data["summary"]["findings"] == 0 and data["summary"]["waived"] == 1
    assert data["summary"]["not_checkable"] == 1 and data["hosts"][0]["findings"][0]["waived"] is True
    cases = {c.name: c.status for c in reports.junit_cases([h], str)}
    assert cases["file[/etc/motd]"] == "skipped" and cases["command[/usr/bin/rotate]"] == "skipped"
