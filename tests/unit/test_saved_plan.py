"""Saved plans: the file (no secret, mode 0600, read back), the digests, and the gate that refuses a
host whose state moved since the plan; tags leave the handlers of skipped resources alone. Over the
local connection in a private folder."""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path

import pytest

from configurator.engine import saved_plan
from configurator.engine.converge import converge
from configurator.engine.executor import HostResult
from configurator.engine.status import HostStatus
from configurator.errors import HostFailed, InputError
from configurator.model.tags import Selection, select
from configurator.output import atomic
from configurator.resources.command import Command
from tests.unit.test_converge_local import catalog, entry, file, session

SECRET = "hunter2-very-secret"


def check_run(private_dir: Path, plan_of):
    shell = session(private_dir)
    try:
        outcome = converge(shell, plan_of, True, lambda *a: None)
    finally:
        shell.close()
    return HostResult("here", HostStatus.PENDING, outcome)


def apply_saved(private_dir: Path, plan_of, saved: saved_plan.SavedPlan):
    shell = session(private_dir)
    try:
        return saved_plan.gated(saved)(shell, plan_of, False, lambda *a: None, None)  # type: ignore[arg-type]
    finally:
        shell.close()


def make(private_dir: Path, plan_of) -> saved_plan.SavedPlan:
    inputs = saved_plan.Inputs("/inv.yml", [])
    made, left_out = saved_plan.make(inputs, [check_run(private_dir, plan_of)], lambda t: t.replace(SECRET, "***"))
    assert left_out == []
    return made


def test_the_file_carries_no_secret_is_private_and_reads_back(private_dir):
    target = private_dir / "conf"
    made = make(private_dir, catalog(entry(file(target, f"password={SECRET}\n".encode()))))
    path = private_dir / "plan.json"
    atomic.write(path, saved_plan.dumps(made), 0o600)
    text = path.read_text()
    assert SECRET not in text and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert saved_plan.is_plan(path) and saved_plan.load(path) == made
    assert json.loads(text)["hosts"]["here"]["steps"][0]["status"] == "change"


def test_a_saved_plan_applies_when_nothing_moved(private_dir):
    target = private_dir / "conf"
    plan_of = catalog(entry(file(target, b"new\n")))
    outcome = apply_saved(private_dir, plan_of, make(private_dir, plan_of))
    assert outcome.error == "" and target.read_bytes() == b"new\n"


def test_a_hand_change_after_the_plan_refuses_the_host_naming_the_resource(private_dir):
    target, other = private_dir / "conf", private_dir / "other"
    plan_of = catalog(entry(file(other, b"o\n")), entry(file(target, b"new\n")))
    saved = make(private_dir, plan_of)
    target.write_bytes(b"by hand\n")
    with pytest.raises(HostFailed, match=r"refused: .*file\[.*conf\] is no longer as planned"):
        apply_saved(private_dir, plan_of, saved)
    assert target.read_bytes() == b"by hand\n" and not other.exists()  # nothing was changed


def test_a_catalog_that_changed_since_the_plan_is_refused(private_dir):
    target = private_dir / "conf"
    saved = make(private_dir, catalog(entry(file(target, b"new\n"))))
    with pytest.raises(HostFailed, match="no longer as planned"):
        apply_saved(private_dir, catalog(entry(file(target, b"other\n"))), saved)
    with pytest.raises(HostFailed, match="was not in the plan"):
        apply_saved(private_dir, catalog(entry(file(target, b"new\n")), entry(file(private_dir / "x", b"x"))), saved)


def test_the_digest_is_keyed_per_plan(private_dir):
    plan_of = catalog(entry(file(private_dir / "conf", b"new\n")))
    one, two = make(private_dir, plan_of), make(private_dir, plan_of)
    assert one.hosts["here"].steps[0].digest != two.hosts["here"].steps[0].digest


@pytest.mark.parametrize("text", ["{}", "not json", '{"format": "configurator-plan/1", "hosts": 3}'])
def test_a_damaged_plan_is_bad_input(tmp_path, text):
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(InputError, match="not a usable saved plan"):
        saved_plan.load(path)


def test_handlers_of_resources_left_out_by_tags_never_fire(private_dir):
    marker = private_dir / "handler-ran"
    handler = entry(Command(("touch", str(marker))))
    tagged = dataclasses.replace(entry(file(private_dir / "a", b"a\n"), "mark"), tags=("motd",))
    kept = dataclasses.replace(entry(file(private_dir / "b", b"b\n")), tags=("config",))
    plan_of = select(catalog(tagged, kept, handlers={"mark": handler}), Selection(frozenset({"config"})))
    shell = session(private_dir)
    try:
        outcome = converge(shell, plan_of, False, lambda *a: None)
    finally:
        shell.close()
    assert outcome.error == "" and (private_dir / "b").exists()
    assert not (private_dir / "a").exists() and not marker.exists() and outcome.handlers == []


def test_the_command_line_refuses_what_does_not_go_with_a_saved_plan(tmp_path, capsys):
    from configurator.cli.commands import main

    inventory = tmp_path / "inventory.yml"
    inventory.write_text("hosts: {h1: {address: 198.18.0.99}}\n")
    plan = tmp_path / "plan.json"
    made = saved_plan.SavedPlan(saved_plan.Inputs(str(inventory), ["h1"]), "00" * 16, "t0",
                                {"h1": saved_plan.SavedHost("h1", [], [])})
    plan.write_text(saved_plan.dumps(made))
    assert main(["apply", str(inventory), "--out", str(tmp_path / "p.json")]) == 65  # --out is for check
    assert main(["apply", str(plan), "--limit", "h1"]) == 65
    assert main(["check", str(plan)]) == 65
    assert main(["drift", "history"]) == 65  # no --report folder to read
    errors = capsys.readouterr().err
    assert "use `configure check --out FILE`" in errors and "fixes its hosts, tags and vars" in errors
    assert not (tmp_path / "p.json").exists()
