"""Round trips of a first run over the local connection: independent changes share one script,
and only the resources a change may have affected are probed again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from configurator.engine import chain
from configurator.engine.actions import Run
from configurator.engine.plan import decide_all
from configurator.resources.base import Check, Resource, Step, change
from configurator.resources.block import Block
from configurator.resources.command import Command
from configurator.resources.file import Directory
from configurator.resources.line import Line
from configurator.resources.package import Package
from configurator.resources.touch import EVERYTHING, Touches, meets, overlaps, touches, with_parents
from tests.unit.test_converge_local import FAKES, apply, catalog, entry, file, statuses


@dataclass(frozen=True)
class Stamp(Resource[str]):
    """Always a change running `script`; reads and writes only its own name."""

    name: str
    script: str
    type: ClassVar[str] = "stamp"

    @property
    def id(self) -> str:
        return f"stamp[{self.name}]"

    def touches(self) -> Touches:
        return touches({("stamp", self.name)}, {("stamp", self.name)})

    def probe(self) -> str:
        return "echo\n"

    def parse(self, text: str) -> str:
        return text

    def plan(self, observed: str) -> Step:
        return change(f"stamp {self.name}", Run(("sh", "-c", self.script)))

    def checks(self) -> list[Check]:
        return []


def test_independent_file_changes_run_in_one_script(private_dir):
    paths = [private_dir / f"f{n}" for n in range(6)]
    plan = catalog(*(entry(file(p, f"{n}\n".encode())) for n, p in enumerate(paths)))
    outcome, round_trips = apply(private_dir, plan)
    assert outcome.error == "" and statuses(outcome) == ["changed"] * 6
    assert [p.read_bytes() for p in paths] == [f"{n}\n".encode() for n in range(6)]
    assert round_trips == 2  # the probe and one script (one round trip per change before)
    again, round_trips = apply(private_dir, plan)
    assert statuses(again) == ["ok"] * 6 and round_trips == 1


def test_only_the_resources_a_change_touched_are_probed_again(private_dir):
    top = private_dir / "app"
    conf = top / "conf"
    plan = catalog(entry(Directory(str(top), mode="0750")), entry(file(conf, b"a=1\n")),
                   entry(file(private_dir / "other", b"x\n")), entry(Line(str(conf), line="b=2")))
    outcome, round_trips = apply(private_dir, plan)
    assert outcome.error == "" and statuses(outcome) == ["changed"] * 4
    assert conf.read_bytes() == b"a=1\nb=2\n"  # the line was planned on the file as written
    # probe; directory and both files in one script; the line's file again; the line
    assert round_trips == 4


def test_a_failure_inside_a_script_stops_it_and_reports_each_step(private_dir):
    log = private_dir / "log"
    handlers = {"first": entry(Stamp("h1", f"echo h1 >> {log}")), "third": entry(Stamp("h3", f"echo h3 >> {log}"))}
    plan = catalog(entry(Stamp("one", f"echo one >> {log}; echo one-said"), "first"),
                   entry(Stamp("two", f"echo two >> {log}; echo two-out; echo two-err >&2; exit 4")),
                   entry(Stamp("three", f"echo three >> {log}"), "third"), handlers=handlers)
    outcome, round_trips = apply(private_dir, plan)
    assert round_trips == 2  # the probe, then one script that stopped at the failure
    assert statuses(outcome) == ["changed", "failed", "skipped"]
    assert log.read_text() == "one\ntwo\n"  # three never ran, nor did any handler
    assert outcome.error == "stamp[two]: exit 4: two-err"  # the failing step's own output only
    assert outcome.handlers == []
    assert (private_dir / "state" / "handlers.pending").read_text() == "first\n"  # run next time


def test_edits_of_one_file_are_planned_on_the_content_the_edit_before_leaves(private_dir):
    settings, conf = private_dir / "settings", private_dir / "conf"
    plan = catalog(entry(Line(str(settings), line="mode=prod", regexp="^mode=", create=True)),
                   entry(Line(str(settings), line="workers=4", regexp="^workers=", create=True)),
                   entry(file(conf, b"a=1\n")), entry(Block(str(settings), content="x\n")),
                   entry(Line(str(settings), line="mode=prod")))
    outcome, round_trips = apply(private_dir, plan)
    assert outcome.error == "" and statuses(outcome) == ["changed", "changed", "changed", "changed", "ok"]
    assert settings.read_text() == "mode=prod\nworkers=4\n# BEGIN configurator\nx\n# END configurator\n"
    assert round_trips == 2  # the probe and one script
    again, round_trips = apply(private_dir, plan)
    assert statuses(again) == ["ok"] * 5 and round_trips == 1


def test_a_command_is_probed_again_only_for_the_paths_its_guards_test(private_dir):
    log, made, later = private_dir / "log", private_dir / "made", private_dir / "later"
    plan = catalog(entry(file(private_dir / "first", b"1\n")),
                   entry(Command(("sh", "-c", f"echo ran >> {log}"))),  # no guard: it runs whatever it reads
                   entry(Command(("touch", str(made)), creates=str(made))),
                   entry(file(later, b"2\n")))
    outcome, round_trips = apply(private_dir, plan)
    assert outcome.error == "" and statuses(outcome) == ["changed"] * 4
    assert log.read_text() == "ran\n" and made.exists() and later.read_bytes() == b"2\n"
    # probe; the file and the unguarded command; the guarded one again (a command may write
    # anything); it; the last file again; it
    assert round_trips == 6


@pytest.fixture
def package_makes(private_dir: Path) -> Path:
    """Fake apt tools whose install, like a maintainer script, writes `made` (a=1) beside them."""
    folder = private_dir / "bin"
    folder.mkdir()
    made = private_dir / "made"
    installs = f'#!/bin/sh\nprintf "%s\\n" "$*" >> "$(dirname "$0")/apt.log"\nprintf "a=1\\n" > {made}\n'
    for name, text in {**FAKES, "apt-get": installs}.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return folder


def test_a_package_transaction_makes_later_readers_probe_again(private_dir, package_makes):
    made, before = private_dir / "made", private_dir / "before"
    plan = catalog(entry(file(before, b"1\n")), entry(Package("alpha")),
                   entry(Line(str(made), line="a=1")), entry(Line(str(made), line="b=2")))
    outcome, round_trips = apply(private_dir, plan, package_makes)
    assert outcome.error == ""  # planned on the first probe, both lines would be unknown: no such file
    assert statuses(outcome) == ["changed", "changed", "ok", "changed"]
    assert made.read_bytes() == b"a=1\nb=2\n"
    # probe; the file and the install in one script; both lines again; the second line
    assert round_trips == 4


def test_without_a_declaration_a_change_probes_everything_after_it_again(private_dir):
    @dataclass(frozen=True)
    class Undeclared(Stamp):
        def touches(self) -> Touches:
            return Resource.touches(self)

    paths = [private_dir / f"f{n}" for n in range(3)]
    plan = catalog(entry(file(paths[0], b"0\n")), entry(Undeclared("any", "true")),
                   *(entry(file(p, b"x\n")) for p in paths[1:]))
    outcome, round_trips = apply(private_dir, plan)
    assert outcome.error == "" and statuses(outcome) == ["changed"] * 4
    # probe; the file; the undeclared step again (it reads everything); it; everything after it again; the rest
    assert round_trips == 6


@pytest.mark.parametrize(("first", "second", "met"), [
    (("path", "/a/b"), ("path", "/a/b"), True),
    (("path", "/a/b"), ("path", "/a/b/c"), False),
    (("tree", "/a"), ("path", "/a/b/c"), True),
    (("path", "/a/b/c"), ("tree", "/a"), True),
    (("tree", "/a/b"), ("path", "/a"), False),
    (("tree", "/a"), ("path", "/ab"), False),
    (("path", "/a/./b/"), ("path", "/a/b"), True),
    (("user", "app"), ("user", "app"), True),
    (("user", "app"), ("user", "web"), False),
    (("user", "app"), ("group", "app"), False),
    (("package", "*"), ("package", "nginx"), True),
    (("path", "*"), ("tree", "/srv"), True),
    (("*", "*"), ("unit", "nginx.service"), True),
])
def test_touches_meet(first, second, met):
    assert meets(first, second) is met and meets(second, first) is met


def test_a_package_writes_what_every_resource_reads():
    written = Package("nginx").touches().writes
    for resource in (file(Path("/etc/x"), b""), Line("/etc/y", line="z"), Directory("/srv")):
        assert overlaps(resource.touches().reads, written)
    assert written >= EVERYTHING
    assert with_parents("/srv/a/b") == {("path", "/srv"), ("path", "/srv/a"), ("path", "/srv/a/b")}


def test_a_change_that_restarts_the_host_ends_its_script():
    @dataclass(frozen=True)
    class Restarting(Stamp):
        def restarts_host(self) -> float:
            return 60.0

    planned = decide_all([entry(Stamp("a", "true")), entry(Restarting("boot", "true")), entry(Stamp("b", "true"))],
                         ("", "", ""))
    first = chain.gather(planned, 0)
    assert [item.id for item in first.items] == ["stamp[a]"]  # it does not join a script begun before it
    alone = chain.gather(planned, 1)
    assert [item.id for item in alone.items] == ["stamp[boot]"]  # nor does anything follow it


def test_the_failed_step_and_its_output_are_read_from_the_markers():
    assert chain.failed_step("x\n@@t s0\n@@t s1\nout\n", "t") == 1
    assert chain.failed_step("@@t s0\n@@t end 0 3\n", "t") == 0
    assert chain.output_of("@@t s0\nzero\n@@t s1\none\n@@t end 1 2\n", "t", 1) == "one"
