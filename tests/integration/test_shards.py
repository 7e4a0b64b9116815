"""Sharded runs on node55-57: three `--shard K/3` processes side by side configure every host exactly once,
and `configure report merge` of their reports equals the report of one run (modulo times and batch numbers)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.integration.engine_helpers import configure, sh, write_inventory

HOSTS = ["node55", "node56", "node57"]
COUNTER = "/srv/configurator-shard-counter"
DEMO = "/srv/configurator-shard-demo"
ROOT = Path(__file__).resolve().parents[2]
ROLE = f"""\
description: appends one line to a counter file on every apply (how often was the host configured?)
resources:
  - directory: {{path: {DEMO}, mode: "0755"}}
  - command: {{argv: [sh, -c, "echo configured >> {COUNTER}"]}}
"""


@pytest.fixture
def lab(sandbox, tmp_path: Path) -> Path:
    """An inventory of node55-57 in one `serial: 1` group with the counter role; counters emptied first."""
    role = tmp_path / "roles" / "shard_counter"
    role.mkdir(parents=True)
    (role / "role.yml").write_text(ROLE)
    path = write_inventory(sandbox, tmp_path / "inventory.yml",
                           {"fleet": {"hosts": HOSTS, "roles": ["shard_counter"], "serial": 1}},
                           roles_path=[str(tmp_path / "roles")])
    reset(sandbox)
    return path


def reset(sandbox) -> None:
    """The hosts as before any run: no counter, no directory (so that two runs start from one state)."""
    for name in HOSTS:
        sh(sandbox.host(name), f"rm -rf {COUNTER} {DEMO}")


def counts(sandbox) -> dict[str, int]:
    """host -> lines in its counter file."""
    return {n: int(sh(sandbox.host(n), f"cat {COUNTER} 2>/dev/null | wc -l").strip()) for n in HOSTS}


def run_shards(inventory: Path, folder: Path, count: int) -> list[Path]:
    """`configure apply --shard K/N` for every K, as processes side by side; each one's JSON report."""
    reports = [folder / f"shard{k}.json" for k in range(1, count + 1)]
    procs = [subprocess.Popen([sys.executable, "-m", "configurator.cli", "apply", str(inventory), "--shard",
                               f"{k}/{count}", "--json", str(report)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
             for k, report in enumerate(reports, 1)]
    deadline = time.monotonic() + 300
    for proc in procs:
        out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        assert proc.returncode == 0, out
    return reports


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what differs between equal runs: times, and the batch numbers (each shard rolls
    its own slice of the group, so it counts its own batches; the group stays)."""
    hosts = []
    for h in report["hosts"]:
        batch = h["batch"]["group"] if h["batch"] else None
        hosts.append({**{k: v for k, v in h.items() if k not in ("seconds", "started", "ended")}, "batch": batch})
    return {**report, "hosts": hosts}


def test_shards_configure_each_host_once_and_merge_into_one_runs_report(sandbox, lab, tmp_path):
    reports = run_shards(lab, tmp_path, 3)
    assert counts(sandbox) == dict.fromkeys(HOSTS, 1)  # every host configured, none twice
    shard_hosts = [[h["host"] for h in json.loads(p.read_text())["hosts"]] for p in reports]
    assert sorted(len(s) for s in shard_hosts) == [1, 1, 1], shard_hosts  # the serial group dealt evenly

    merged_path = tmp_path / "merged.json"
    assert configure("report", "merge", merged_path, *reports) == (0, None)
    merged = json.loads(merged_path.read_text())

    reset(sandbox)
    code, single = configure("apply", lab, report=tmp_path / "single.json")
    assert code == 0 and single is not None
    assert counts(sandbox) == dict.fromkeys(HOSTS, 1)
    assert comparable(merged) == comparable(single)
    jsonschema.validate(merged, json.loads((ROOT / "docs" / "json-schema.json").read_text()))
    assert [h["status"] for h in merged["hosts"]] == ["changed"] * 3


def test_verify_by_shards_merges_into_one_verify(sandbox, lab, tmp_path):
    assert configure("apply", lab)[0] == 0
    reports = [tmp_path / f"verify{k}.json" for k in (1, 2, 3)]
    for k, path in enumerate(reports, 1):
        code, data = configure("verify", lab, "--shard", f"{k}/3", report=path)
        assert code == 0 and data is not None and len(data["hosts"]) == 1, data
    assert configure("report", "merge", tmp_path / "verify.json", *reports) == (0, None)
    merged = json.loads((tmp_path / "verify.json").read_text())
    assert [(h["host"], h["status"]) for h in merged["hosts"]] == [(n, "passed") for n in HOSTS]


def test_a_check_of_the_shards_merges_with_the_exit_code_of_one_check(sandbox, lab, tmp_path):
    reports = []
    for k in (1, 2, 3):
        code, data = configure("check", lab, "--shard", f"{k}/3", report=tmp_path / f"check{k}.json")
        assert code == 2 and data is not None  # the counter command is always pending
        reports.append(tmp_path / f"check{k}.json")
    assert configure("report", "merge", tmp_path / "all.json", *reports) == (2, None)
    assert configure("report", "merge", tmp_path / "twice.json", reports[0], reports[0]) == (65, None)
    assert not (tmp_path / "twice.json").exists()
    assert counts(sandbox) == dict.fromkeys(HOSTS, 0)  # check wrote nothing
