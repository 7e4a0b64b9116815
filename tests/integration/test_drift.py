"""`configure drift` on node9/node10: finds exactly what was changed by hand, writes nothing, remembers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.integration.engine_helpers import configure, etc_checksum, write_inventory
from tests.integration.test_verify import DRIFTED, HOSTS, ROLE_TESTS, break_by_hand, converged, host


@pytest.fixture(scope="module")
def inventory(sandbox, tmp_path_factory):
    return converged(sandbox, tmp_path_factory.mktemp("drift"))


def drift(path: Path, folder: Path) -> tuple[int, dict, ET.Element, str]:
    code = configure("drift", path, "--report", folder)[0]
    data = json.loads((folder / "drift.json").read_text())
    return code, data, ET.parse(folder / "drift.xml").getroot(), (folder / "drift.md").read_text()


def findings(data: dict, name: str, kind: str = "resource") -> dict[str, dict]:
    entry = next(h for h in data["hosts"] if h["host"] == name)
    return {f["subject"]: f for f in entry["findings"] if f["kind"] == kind}


def failed_cases(root: ET.Element) -> set[tuple[str, str]]:
    return {(c.get("classname", ""), c.get("name", "")) for c in root.iter("testcase") if c.find("failure") is not None}


def test_drift_finds_new_then_still_present_then_resolved(sandbox, inventory, tmp_path):
    folder = tmp_path / "report"
    code, data, root, text = drift(inventory, folder)
    assert (code, data["summary"]["findings"], failed_cases(root)) == (0, 0, set())
    assert "# Drift: none on 2 hosts" in text

    break_by_hand(sandbox)
    before = {n: etc_checksum(host(sandbox, n)) for n in HOSTS}
    code, data, root, text = drift(inventory, folder)
    assert {n: etc_checksum(host(sandbox, n)) for n in HOSTS} == before  # drift wrote nothing
    assert code == 2
    found = findings(data, "node9")
    assert set(found) == DRIFTED
    assert {f["state"] for f in found.values()} == {"new"}
    assert "-edited by hand" in found["file[/etc/verify_demo.conf]"]["diff"]
    assert set(findings(data, "node9", "check")) == ROLE_TESTS  # nginx is down, so its role tests fail too
    assert findings(data, "node10") == findings(data, "node10", "check") == {}
    assert failed_cases(root) == {("node9", s) for s in DRIFTED | ROLE_TESTS}
    for subject in DRIFTED:
        assert f"- **new**: resource `{subject}`" in text
    assert "-edited by hand" in text and "| node9 | drift | 5 | 0 | 0 |" in text
    first_seen = data["at"]

    code, data, _, text = drift(inventory, folder)
    assert code == 2
    assert {s: (f["state"], f["since"]) for s, f in findings(data, "node9").items()} == {
        s: ("still", first_seen) for s in DRIFTED}
    for subject in DRIFTED:
        assert f"- still present since {first_seen}: resource `{subject}`" in text

    assert configure("apply", inventory)[0] == 0
    code, data, root, text = drift(inventory, folder)
    assert code == 0
    assert {(r["host"], r["subject"]) for r in data["resolved"]} == {("node9", s) for s in DRIFTED | ROLE_TESTS}
    assert failed_cases(root) == set()
    assert "## Resolved since the last run" in text
    for subject in DRIFTED:
        assert f"- node9: `{subject}` (present since {first_seen})" in text


def test_an_unreachable_host_is_reported_not_counted_as_drift(sandbox, inventory, tmp_path):
    path = write_inventory(sandbox, tmp_path / "inventory.yml", {"vd": {"hosts": ["node9"], "roles": ["verify_demo"]}})
    data = yaml.safe_load(path.read_text())
    # an address in the sandbox network where no host lives
    data["hosts"] = {"ghost": {"address": "198.18.0.99", "connect_timeout": 2}, **data["hosts"]}
    data["groups"]["vd"]["hosts"].insert(0, "ghost")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, data, root, text = drift(path, tmp_path / "report")
    assert code == 3
    assert [(h["host"], h["status"]) for h in data["hosts"]] == [("ghost", "unreachable"), ("node9", "clean")]
    assert data["summary"]["findings"] == 0 and data["summary"]["unreachable"] == 1
    errors = [c.get("classname") for c in root.iter("testcase") if c.find("error") is not None]
    assert errors == ["ghost"]
    assert "## Not checked" in text and "- ghost unreachable: " in text
