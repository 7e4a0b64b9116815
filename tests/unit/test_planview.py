"""Folding identical changes across hosts in the plan view."""

from __future__ import annotations

from pathlib import Path

from configurator.engine.converge import Outcome
from configurator.engine.executor import HostResult
from configurator.engine.plan import Planned
from configurator.errors import Location
from configurator.model.catalog import Entry
from configurator.output import planview
from configurator.resources.base import Step
from configurator.resources.file import File


def result(host: str, *steps: tuple[str, str, str, str]) -> HostResult:
    outcome = Outcome()
    for path, status, summary, diff in steps:
        entry = Entry(File(path, b""), "r", Location(str(Path("role.yml")), 1))
        outcome.steps.append((Planned(entry, Step("change", summary, (), diff, "modify")), status))
    return HostResult(host, "pending", outcome)


def test_identical_changes_fold_and_different_ones_do_not():
    same = ("/etc/nginx.conf", "pending", "content changed", "-a\n+b\n")
    results = [result(f"web{n:02}", same) for n in range(1, 49)]
    results.append(result("odd", ("/etc/nginx.conf", "pending", "content changed", "-x\n+b\n")))
    results.append(result("fine", ("/etc/nginx.conf", "ok", "", "")))
    changes = planview.fold(results)
    assert [(c.resource, len(c.hosts)) for c in changes] == [("file[/etc/nginx.conf]", 48),
                                                           ("file[/etc/nginx.conf]", 1)]
    text = planview.render(changes, diff=True)
    assert "on 48 hosts: web01, web02, web03, web04, web05, ..., web48" in text
    assert "on odd" in text and "    -x" in text
    assert text.endswith("Plan: 0 to create, 49 to change, 0 to remove, 0 unknown (2 distinct changes).\n")


def test_no_changes():
    assert planview.render(planview.fold([result("a", ("/x", "ok", "", ""))]), diff=False).startswith("No changes")
