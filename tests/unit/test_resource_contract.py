"""The declared resource contract: every type declares what the engine uses, and the engine asks only that."""

from __future__ import annotations

import inspect
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from configurator.engine import probe
from configurator.engine.actions import Run
from configurator.engine.converge import _batch, _merged
from configurator.engine.plan import Planned, decide_all
from configurator.errors import Location
from configurator.model.catalog import Entry
from configurator.resources import all_types
from configurator.resources.base import (
    Check,
    PlanStatus,
    Resource,
    Step,
    Unreadable,
    change,
    decide,
    field_lines,
    ok,
    unknown,
)
from configurator.resources.file import File
from configurator.resources.package import Package
from configurator.resources.service import Service
from configurator.resources.template import Template

MEMBERS = ("id", "probe", "parse", "plan", "checks", "validate", "batch_probe", "batch_parse", "merge",
           "after_writes")


@pytest.mark.parametrize("name", sorted(all_types()))
def test_every_type_subclasses_the_contract_with_plain_class_flags(name: str) -> None:
    cls = all_types()[name]
    assert issubclass(cls, Resource) and not inspect.isabstract(cls)
    for flag in ("batched", "merges", "renders_source"):
        assert type(inspect.getattr_static(cls, flag)) is bool, f"{cls.__name__}.{flag} must be a ClassVar bool"
    assert type(inspect.getattr_static(cls, "prelude")) is str
    assert isinstance(inspect.getattr_static(cls, "id"), property)
    assert all(callable(getattr(cls, m)) for m in MEMBERS if m != "id")


@dataclass(frozen=True)
class Echo(Resource[str]):
    """A type that keeps the default batching: each probe in turn inside the batch."""

    word: str
    type: ClassVar[str] = "echo"
    batched: ClassVar[bool] = True

    @property
    def id(self) -> str:
        return f"echo[{self.word}]"

    def probe(self) -> str:
        return f"echo said={self.word}\n"

    def parse(self, text: str) -> str:
        return field_lines(text)["said"]

    def plan(self, observed: str) -> Step:
        return ok(observed) if observed == self.word else unknown(f"heard {observed!r}")

    def checks(self) -> list[Check]:
        return []


def run(script: str) -> str:
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout


def test_a_batched_type_without_its_own_batch_probe_runs_each_probe_in_the_batch() -> None:
    resources = [Echo("a"), Echo("b b"), File("/nonexistent/cfg-x")]
    script = probe.script(resources, "tok", facts=False)
    assert script.count("@@tok b") == 2 and script.count("( ") == 2  # two batches, each Echo probe in a subshell
    seen = probe.parse(run(script), "tok", resources)
    assert seen.states[:2] == ("a", "b b")
    assert [resources[n].plan(seen.states[n]).status for n in range(3)] == ["ok", "ok", "change"]


def test_a_batch_that_cannot_be_parsed_is_unknown_for_each_member_not_a_crash() -> None:
    packages = [Package("a"), Package("b")]
    output = "@@tok b0\nlists_age=soon\na|install ok installed|1\n"
    seen = probe.parse(output, "tok", packages)
    assert all(isinstance(s, Unreadable) for s in seen.states)
    entries = [Entry(p, "r", Location("role.yml", 1)) for p in packages]
    assert [p.step.status for p in decide_all(entries, seen.states)] == [PlanStatus.UNKNOWN] * 2


def test_a_template_is_batched_with_the_files() -> None:
    batches = probe.groups([File("/a"), Template("/b"), Service("ssh"), File("/c")])
    assert [[i for i, _ in group] for group in batches] == [[0, 1, 3], [2]]
    assert Template("/b").id == "file[/b]" and Template.renders_source and Template.source_folder == "templates"
    assert not File.renders_source and File.source_folder == "files"


def planned(resource: Resource[Any], step: Step) -> Planned:
    return Planned(Entry(resource, "r", Location("role.yml", 1)), step)


def test_consecutive_changes_share_one_run_only_when_their_type_merges() -> None:
    install = decide(Package("tree"), "status=\nlists_age=0\n")
    steps = [planned(Package("tree"), install), planned(Package("nano"), decide(Package("nano"), "lists_age=0\n")),
             planned(Package("bc"), ok()), planned(Package("dc"), install)]
    group = _batch(steps, 0)
    assert len(group) == 2  # the unchanged package ends the run of changes
    assert len(_merged(group)) == 1 and _merged(group)[0].argv[-3:] == ("--", "tree", "nano")  # type: ignore[union-attr]
    files = [planned(File("/a"), change("x", Run(("true",)))), planned(File("/b"), change("y", Run(("true",))))]
    assert _batch(files, 0) == files[:1] and not File.merges


def test_decide_plans_from_probe_text_and_parse_errors_surface() -> None:
    assert decide(Package("tree"), "status=install ok installed\nversion=2\n").status == "ok"
    with pytest.raises(ValueError):
        decide(Package("tree"), "lists_age=later\n")


def test_the_contract_is_documented_where_the_base_class_says() -> None:
    guide = Path(__file__).resolve().parents[2] / "docs" / "resource-contract.md"
    text = guide.read_text()
    assert all(f"`{m}" in text for m in MEMBERS) and "Resource[" in text
