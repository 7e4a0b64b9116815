"""The sharding recipes of docs/scale.md: the Kubernetes Indexed Job is a valid manifest (kubernetes-validate,
offline: the package ships the schemas) whose pods name every shard once; the CI matrix does too."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from configurator.engine import shards

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
JOB = EXAMPLES / "k8s-indexed-job.yaml"
MATRIX = EXAMPLES / "github-actions-shards.yml"
KUBERNETES = ["1.29", "1.33"]  # backoffLimitPerIndex and FailIndex: beta (on by default) in 1.29, GA in 1.33


def job() -> dict:
    docs = list(yaml.safe_load_all(JOB.read_text()))
    assert len(docs) == 1
    return docs[0]


@pytest.mark.parametrize("version", KUBERNETES)
def test_the_indexed_job_is_a_valid_manifest(version):
    assert kubernetes_validate.validate(job(), version, strict=True) == version  # strict: no unknown fields


@pytest.mark.parametrize(("key", "value"), [("completions", "four"), ("shards", 4)])
def test_a_wrong_field_is_caught_so_the_validation_means_something(key, value):
    broken = job()
    broken["spec"][key] = value
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES[-1], strict=True)


def command_of(index: int) -> list[str]:
    """The pod's command line for JOB_COMPLETION_INDEX=index, with `configure` replaced by a stub that prints it."""
    container = job()["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    script = container["args"][0].replace("exec configure ", "printf '%s\\n' ")
    assert container["command"] == ["sh", "-c"]
    done = subprocess.run(["sh", "-c", script], env={**env, "JOB_COMPLETION_INDEX": str(index)},
                          capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_each_pod_runs_its_own_shard_and_writes_its_own_report():
    spec = job()["spec"]
    count = spec["completions"]
    assert spec["completionMode"] == "Indexed" and spec["parallelism"] == count == spec["maxFailedIndexes"]
    seen, reports = set(), set()
    for index in range(count):
        argv = command_of(index)
        assert argv[:2] == ["apply", "/etc/configurator/inventory.yml"]
        shard = shards.parse(argv[argv.index("--shard") + 1])
        assert shard.count == count
        seen.add(shard.index)
        reports.add(argv[argv.index("--json") + 1])
    assert seen == set(range(1, count + 1)) and len(reports) == count


def test_the_ci_matrix_names_every_shard_once_and_merges_after_all_of_them():
    flow = yaml.safe_load(MATRIX.read_text())
    shard_job, merge_job = flow["jobs"]["shard"], flow["jobs"]["merge"]
    matrix = shard_job["strategy"]["matrix"]["shard"]
    runs = " ".join(step.get("run", "") for step in shard_job["steps"])
    count = int(re.search(r"--shard \$\{\{ matrix\.shard \}\}/(\d+)", runs)[1])
    assert matrix == list(range(1, count + 1)) and shard_job["strategy"]["fail-fast"] is False
    assert merge_job["needs"] == "shard" and merge_job["if"] == "always()"
    assert any("configure report merge" in step.get("run", "") for step in merge_job["steps"])
