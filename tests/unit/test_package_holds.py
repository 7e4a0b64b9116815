"""Package holds, purge versus remove, and `latest` on stale lists: dpkg text in, apt argv out."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from configurator.engine.actions import Run
from configurator.resources.apt_lists import LIST_MAX_AGE, LISTS_AGE, STALE, STAMP, UPDATE, UPDATE_SCRIPT
from configurator.resources.base import decide
from configurator.resources.package import APT_ENV, APT_OPTS, HELD_OK, Package, merge_installs

FRESH = f"lists_age={LIST_MAX_AGE - 1}\n"
STALE_LISTS = f"lists_age={LIST_MAX_AGE + 1}\n"


def dpkg(status: str, version: str = "1.0-1") -> str:
    return f"status={status}\nversion={version}\n"


INSTALLED, HELD = dpkg("install ok installed"), dpkg("hold ok installed")
CONFIG_LEFT = dpkg("deinstall ok config-files")


def apt(verb: str, *targets: str, held: bool = False) -> Run:
    options = (*APT_OPTS, HELD_OK) if held else APT_OPTS
    return Run(("apt-get", *options, verb, "--", *targets), env=APT_ENV, timeout=1800)


def mark(verb: str, name: str = "demo") -> Run:
    return Run(("apt-mark", verb, name), env=APT_ENV, timeout=300)


@pytest.mark.parametrize(("package", "observed", "status", "summary", "actions"), [
    # holds
    (Package("demo", hold=True), HELD + FRESH, "ok", "demo 1.0-1", ()),
    (Package("demo", hold=True), INSTALLED + FRESH, "change", "hold demo 1.0-1", (mark("hold"),)),
    (Package("demo", hold=True), FRESH, "change", "install demo", (apt("install", "demo"), mark("hold"))),
    (Package("demo", hold=True), STALE_LISTS, "change", "install demo",
     (UPDATE, apt("install", "demo"), mark("hold"))),
    (Package("demo", version="2.0-1", hold=True), HELD + FRESH, "change", "upgrade demo 1.0-1 -> 2.0-1",
     (apt("install", "demo=2.0-1", held=True), mark("hold"))),
    (Package("demo", hold=False), HELD + FRESH, "change", "release the hold on demo 1.0-1", (mark("unhold"),)),
    (Package("demo", hold=False), INSTALLED + FRESH, "ok", "demo 1.0-1", ()),
    (Package("demo", version="2.0-1", hold=False), HELD + FRESH, "change", "upgrade demo 1.0-1 -> 2.0-1",
     (mark("unhold"), apt("install", "demo=2.0-1"))),
    (Package("demo"), HELD + FRESH, "ok", "demo 1.0-1", ()),  # a hold set by hand is left alone...
    (Package("demo", version="2.0-1"), HELD + FRESH, "unknown",  # ...and never changed behind
     "demo is held (apt-mark hold) at 1.0-1: set hold: true to change it and keep it held, or hold: false "
     "to release it", ()),
    # absent removes (configuration kept), purged removes the configuration too
    (Package("demo", state="absent"), INSTALLED + FRESH, "change", "remove demo 1.0-1", (apt("remove", "demo"),)),
    (Package("demo", state="absent"), CONFIG_LEFT + FRESH, "ok", "", ()),
    (Package("demo", state="absent"), dpkg("install ok unpacked") + FRESH, "change", "remove demo 1.0-1",
     (apt("remove", "demo"),)),
    (Package("demo", state="purged"), INSTALLED + FRESH, "change", "purge demo 1.0-1", (apt("purge", "demo"),)),
    (Package("demo", state="purged"), CONFIG_LEFT + FRESH, "change", "purge demo 1.0-1", (apt("purge", "demo"),)),
    (Package("demo", state="purged"), FRESH, "ok", "", ()),
    (Package("demo", state="purged"), dpkg("purge ok not-installed", "") + FRESH, "ok", "", ()),
    (Package("demo", state="absent"), HELD + FRESH, "unknown",
     "demo is held (apt-mark hold): set hold: false to let it be absent", ()),
    (Package("demo", state="purged", hold=False), HELD + FRESH, "change", "purge demo 1.0-1",
     (mark("unhold"), apt("purge", "demo"))),
    (Package("demo", state="absent", hold=False), dpkg("hold ok not-installed", "") + FRESH, "change",
     "release the hold on demo", (mark("unhold"),)),
    # latest: apt's candidate on fresh lists; stale lists are refreshed first and apt picks the newest
    (Package("demo", state="latest"), INSTALLED + FRESH + "candidate=1.0-1\n", "ok", "demo 1.0-1", ()),
    (Package("demo", state="latest"), INSTALLED + FRESH + "candidate=1.1-1\n", "change",
     "upgrade demo 1.0-1 -> 1.1-1", (apt("install", "demo=1.1-1"),)),
    (Package("demo", state="latest"), INSTALLED + STALE_LISTS + "candidate=1.0-1\n", "change",
     "refresh apt lists, then upgrade demo to the newest version", (UPDATE, apt("install", "demo"))),
    (Package("demo", state="latest"), STALE_LISTS + "candidate=(none)\n", "change",
     "refresh apt lists, then install demo to the newest version", (UPDATE, apt("install", "demo"))),
    (Package("demo", state="latest"), HELD + STALE_LISTS + "candidate=1.0-1\n", "unknown",
     "demo is held (apt-mark hold) at 1.0-1: set hold: true to change it and keep it held, or hold: false "
     "to release it", ()),
])
def test_plan(package: Package, observed: str, status: str, summary: str, actions: tuple[Run, ...]) -> None:
    step = decide(package, observed)
    assert (step.status, step.summary, step.actions) == (status, summary, actions)


@pytest.mark.parametrize(("package", "problem"), [
    (Package("demo", state="latest", hold=True), "hold: true keeps a package as it is, which state latest contradicts"),
    (Package("demo", state="absent", hold=True), "hold: true keeps a package as it is, which state absent contradicts"),
    (Package("demo", state="purged", version="1"), "version is only for state present, not purged"),
    (Package("demo", state="latest", version="1"), "version is only for state present, not latest"),
])
def test_contradictions_refused(package: Package, problem: str) -> None:
    assert package.validate() == [problem]


def test_holds_ride_in_the_one_dpkg_query() -> None:
    packages = [Package("a", hold=True), Package("b", state="purged"), Package("c", hold=False)]
    text = Package.batch_probe(packages, "@@t:b0")
    assert text.count("dpkg-query") == 1 and "apt-mark" not in text and "apt-cache" not in text
    states = Package.batch_parse(packages, "lists_age=5\na|hold ok installed|1\nb|deinstall ok config-files|2\n",
                                 "@@t:b0")
    assert [(s.held, s.current) for s in states] == [(True, "installed"), (False, "config-files"), (False, "")]


@pytest.mark.parametrize(("actions", "merged"), [
    ([apt("install", "a"), apt("install", "b", held=True), apt("install", "c", held=True)],
     [apt("install", "a"), apt("install", "b", "c", held=True)]),
    ([apt("install", "a"), mark("hold", "a"), apt("install", "b")],
     [apt("install", "a"), mark("hold", "a"), apt("install", "b")]),
    ([UPDATE, apt("install", "a"), UPDATE, apt("install", "b"), mark("hold", "b")],
     [UPDATE, apt("install", "a", "b"), mark("hold", "b")]),
    ([apt("remove", "a"), apt("remove", "b")], [apt("remove", "a"), apt("remove", "b")]),
])
def test_merge_keeps_held_installs_apart(actions: list[Run], merged: list[Run]) -> None:
    assert merge_installs(list(actions)) == merged


def lists_age(tmp_path: Path, stale_mark: bool) -> int:
    """$a as the probe computes it, with fresh lists and the stamp of a refresh just now."""
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "deb_Packages").write_text("")
    (tmp_path / "stamp").write_text("")
    if stale_mark:
        (tmp_path / "stale").write_text("")
    script = (LISTS_AGE.replace(STAMP, shlex.quote(str(tmp_path / "stamp")))
              .replace(STALE, shlex.quote(str(tmp_path / "stale")))
              .replace("/var/lib/apt/lists", shlex.quote(str(tmp_path / "lists"))))
    return int(subprocess.run(["sh", "-c", script + '; echo "$a"'], capture_output=True, text=True,
                              check=True).stdout)


@pytest.mark.parametrize(("stale_mark", "stale"), [(False, False), (True, True)])
def test_a_changed_source_makes_fresh_lists_stale(tmp_path: Path, stale_mark: bool, stale: bool) -> None:
    assert (lists_age(tmp_path, stale_mark) > LIST_MAX_AGE) == stale


def test_a_refresh_removes_the_stale_mark(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "apt-get").chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    (state / "apt-lists.stale").write_text("")
    script = UPDATE_SCRIPT.replace("/var/lib/configurator", str(state))
    subprocess.run(["sh", "-c", script], env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
                   check=True, timeout=20)
    assert not (state / "apt-lists.stale").exists() and (state / "apt-lists.stamp").exists()
