"""Joining the JSON reports of shards as data: the report of one run, its exit code, refused inputs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from configurator.cli import commands as cli
from configurator.errors import InputError
from configurator.output import report_merge
from configurator.output.report import JSON_SCHEMA_VERSION

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "json-schema.json").read_text())


def host(name, status="ok", started="2026-11-29T23:00:00.000+00:00"):
    return {"host": name, "status": status, "error": "", "round_trips": 1, "seconds": 0.1, "batch": None,
            "started": started, "ended": started, "handlers": [], "steps": []}


def hook(status="ok", started="2026-11-29T23:00:00.000+00:00"):
    return {"group": "web", "batch": "web 1/1", "when": "before", "on": "local", "command": "true",
            "status": status, "exit_status": 0, "output": "", "started": started, "ended": started}


def run(command="apply", hosts=(), hooks=(), **head):
    return {"schema_version": JSON_SCHEMA_VERSION, "tool": "configurator", "version": "1.0", "command": command,
            "hosts": list(hosts), "hooks": list(hooks), **head}


def merged(*reports):
    return report_merge.merge([(f"shard{i}.json", r) for i, r in enumerate(reports, 1)])


def test_shards_join_into_one_report_of_the_same_schema_in_name_order():
    out = merged(run(hosts=[host("node10"), host("node2")]), run(hosts=[host("node1", "changed")]), run())
    jsonschema.validate(out, SCHEMA)
    assert [h["host"] for h in out["hosts"]] == ["node1", "node2", "node10"]
    assert report_merge.totals(out) == {"changed": 1, "ok": 2}


def test_hooks_are_joined_in_the_order_they_started():
    late, early = hook(started="2026-11-29T23:00:05.000+00:00"), hook(started="2026-11-29T23:00:01.000+00:00")
    out = merged(run(hosts=[host("a")], hooks=[late]), run(hosts=[host("b")], hooks=[early]))
    assert out["hooks"] == [early, late]


@pytest.mark.parametrize(("command", "statuses", "hook_status", "detailed", "code"), [
    ("apply", [["ok"], ["ok"]], "ok", False, 0),
    ("apply", [["changed"], ["ok"]], "ok", False, 0),
    ("apply", [["changed"], ["ok"]], "ok", True, 2),
    ("check", [["ok"], ["pending"]], "ok", False, 2),
    ("apply", [["ok"], ["unreachable"]], "ok", False, 3),
    ("apply", [["failed"], ["unreachable"]], "ok", False, 1),  # one run: a failure wins over unreachable
    ("apply", [["skipped"], ["ok"]], "ok", False, 1),
    ("apply", [["ok"], ["ok"]], "failed", False, 1),  # a failed batch hook in one shard fails the run
])
def test_the_exit_code_is_one_runs(command, statuses, hook_status, detailed, code):
    reports = [run(command, [host(f"{command}{i}{j}", s) for j, s in enumerate(shard)], [hook(hook_status)])
               for i, shard in enumerate(statuses)]
    assert report_merge.exit_code(merged(*reports), detailed) == code


@pytest.mark.parametrize(("statuses", "code"), [(["passed", "passed"], 0), (["passed", "unreachable"], 3),
                                                (["unreachable", "failed"], 4)])
def test_verify_reports_exit_as_one_verify(statuses, code):
    reports = [run("verify", [{"host": f"h{i}", "status": s, "checks": [], "counts": {}}])
               for i, s in enumerate(statuses)]
    for r in reports:
        del r["hooks"]
    out = merged(*reports)
    assert "hooks" not in out and report_merge.exit_code(out) == code


def test_drift_reports_add_up_their_summaries_and_exit_as_one_drift():
    def drift(name, status, at, drifted):
        return run("drift", [{"host": name, "status": status, "error": "", "findings": [], "not_checkable": []}],
                   at=at, previous_run=None, exit_code=0, resolved=[],
                   summary={"hosts": 1, "drifted_hosts": drifted, "findings": drifted})
    out = merged(drift("b", "clean", "2026-11-29T23:00:02", 0), drift("a", "drift", "2026-11-29T23:00:01", 1))
    assert out["summary"] == {"hosts": 2, "drifted_hosts": 1, "findings": 1}
    assert (out["at"], out["exit_code"], [h["host"] for h in out["hosts"]]) == ("2026-11-29T23:00:01", 2, ["a", "b"])


@pytest.mark.parametrize(("second", "message"), [
    (run(hosts=[host("a")]), "host a is in shard1.json too: the reports overlap"),
    (run(hosts=[host("b")], schema_version=1), "schema_version 1 differs from 2"),
    (run("check", hosts=[host("b")]), "command 'check' differs from 'apply'"),
    (run(hosts=[host("b")], version="0.9"), "version '0.9' differs from '1.0'"),
    (run(hosts=[{"name": "b"}]), "a host entry without host and status"),
])
def test_reports_of_another_run_or_overlapping_hosts_are_refused(second, message):
    with pytest.raises(InputError, match=message) as raised:
        merged(run(hosts=[host("a")]), second)
    assert raised.value.exit_code == 65 and str(raised.value).startswith("shard2.json: ")


def test_the_command_writes_the_joined_report_and_exits_with_its_code(tmp_path, capsys):
    paths = []
    for i, shard in enumerate([[host("n1", "changed")], [host("n2", "unreachable")]]):
        paths.append(tmp_path / f"s{i}.json")
        paths[-1].write_text(json.dumps(run(hosts=shard)))
    out = tmp_path / "all.json"
    assert cli.main(["report", "merge", str(out), *map(str, paths)]) == 3
    assert [h["host"] for h in json.loads(out.read_text())["hosts"]] == ["n1", "n2"]
    assert "apply of 2 hosts from 2 reports (1 changed, 1 unreachable); exit code 3" in capsys.readouterr().out


def test_a_refused_merge_exits_65_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(run(hosts=[host("n1")])))
    out = tmp_path / "all.json"
    assert cli.main(["report", "merge", str(out), str(good), str(bad)]) == 65
    assert not out.exists() and "bad.json: not a JSON report" in capsys.readouterr().err
