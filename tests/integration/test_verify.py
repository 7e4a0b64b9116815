"""`configure verify` on node9/node10: generated checks and role tests pass after apply, fail on drift."""

from __future__ import annotations

import argparse
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from configurator.cli import commands as cli
from configurator.output.redaction import Redactor
from tests.integration.engine_helpers import configure, sh, write_inventory

HOSTS = ["node9", "node10"]
ROLE_TESTS = {"verify_demo/tests/test_verify_demo.py::test_http_200",
              "verify_demo/tests/test_verify_demo.py::test_nginx_listens"}
DRIFTED = {"file[/etc/verify_demo.conf]", "service[nginx]", "user[vdemo]"}


def host(sandbox, name):
    return next(h for h in sandbox.hosts if h.name == name)


def break_by_hand(sandbox, name="node9"):
    """Change a file, stop a service and delete a user, the way an operator would."""
    sh(host(sandbox, name), "echo 'edited by hand' >> /etc/verify_demo.conf; systemctl stop nginx; userdel vdemo")


def converged(sandbox, folder: Path) -> Path:
    """node9 and node10 with the verify_demo role, converged; the inventory's path."""
    path = folder / "inventory.yml"
    write_inventory(sandbox, path, {"vd": {"hosts": HOSTS, "roles": ["verify_demo"]}})
    code, data = configure("apply", path, report=path.with_name("apply.json"))
    assert code == 0, data
    return path


@pytest.fixture(scope="module")
def inventory(sandbox, tmp_path_factory):
    return converged(sandbox, tmp_path_factory.mktemp("verify"))


@pytest.fixture
def reapply(inventory):
    """Converge again after a test that broke a host."""
    yield
    code, data = configure("apply", inventory, report=inventory.with_name("reapply.json"))
    assert code == 0, data


def resource_ids(path: Path) -> dict[str, set[str]]:
    _, catalogs = cli.load_catalogs(argparse.Namespace(inventory=path, limit=None, var=[], redactor=Redactor()))
    return {c.host.name: {e.resource.id for e in c.entries} for c in catalogs}


def verify(path: Path, tmp_path: Path, *extra: str) -> tuple[int, dict, ET.Element]:
    junit = tmp_path / "verify.xml"
    code, data = configure("verify", path, "--junit", junit, *extra, report=tmp_path / "verify.json")
    assert data is not None
    return code, data, ET.parse(junit).getroot()


def checks(data: dict, name: str, kind: str, status: str | None = None) -> list[dict]:
    entry = next(h for h in data["hosts"] if h["host"] == name)
    return [c for c in entry["checks"] if c["kind"] == kind and (status is None or c["status"] == status)]


def test_verify_passes_after_apply_with_both_kinds_of_checks(inventory, tmp_path):
    code, data, root = verify(inventory, tmp_path)
    assert code == 0, data
    declared = resource_ids(inventory)
    for name in HOSTS:
        generated = checks(data, name, "resource")
        assert {c["subject"] for c in generated} == declared[name]  # every declared resource is checked
        assert len(generated) >= len(declared[name]) >= 8
        assert {c["subject"] for c in checks(data, name, "role")} == ROLE_TESTS
        assert all(c["status"] == "passed" for c in generated + checks(data, name, "role"))
    cases = root.findall("testsuite/testcase")
    assert len(cases) == sum(len(h["checks"]) for h in data["hosts"])
    assert {c.get("classname") for c in cases} == set(HOSTS)
    assert root.find(".//failure") is None


def test_verify_fails_exactly_the_broken_checks_on_that_host(sandbox, inventory, tmp_path, reapply):
    break_by_hand(sandbox)
    code, data, root = verify(inventory, tmp_path)
    assert code == 4
    failed = checks(data, "node9", "resource", "failed")
    assert {c["subject"] for c in failed} == DRIFTED
    messages = {c["subject"]: c["message"] for c in failed}
    assert "content differs" in messages["file[/etc/verify_demo.conf]"]
    assert "not running" in messages["service[nginx]"]
    assert "does not exist" in messages["user[vdemo]"]
    assert {c["subject"] for c in checks(data, "node9", "role", "failed")} == ROLE_TESTS
    assert checks(data, "node10", "resource", "failed") == checks(data, "node10", "role", "failed") == []
    failures = {(c.get("classname"), c.get("name")) for c in root.iter("testcase") if c.find("failure") is not None}
    assert {n for h, n in failures if h == "node9"} == {c["name"] for c in failed} | ROLE_TESTS
    assert all(h == "node9" for h, _ in failures)
    http = next(c for c in root.iter("testcase")
                if c.get("classname") == "node9" and c.get("name", "").endswith("test_http_200"))
    failure = http.find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("GET http://198.18.0.19:80/ gave no answer")
    assert "assert " in (failure.text or "")


def test_apply_verify_fails_when_a_role_test_fails(inventory, tmp_path, reapply):
    # nginx keeps listening on 80 while the role test asks port 8080: apply converges, verify fails
    code, data = configure("apply", inventory, "--limit", "node10", "--verify", "--var", "vd_port=8080",
                           report=tmp_path / "apply.json")
    assert code == 4, data
    assert data is not None and [h["status"] for h in data["hosts"]] == ["failed"]
    assert "test_http_200" in data["hosts"][0]["error"]


def with_known_hosts(path: Path, known: Path) -> Path:
    data = yaml.safe_load(path.read_text())
    data["ssh"]["known_hosts"] = str(known)
    out = path.with_name(f"inventory-{known.name}.yml")
    out.write_text(yaml.safe_dump(data))
    return out


def test_unknown_and_changed_host_keys_are_refused(inventory, tmp_path):
    unknown = tmp_path / "empty_known_hosts"
    unknown.write_text("")
    code, data, _ = verify(with_known_hosts(inventory, unknown), tmp_path)
    assert code == 3
    assert all("unknown host key" in h["checks"][0]["message"] for h in data["hosts"])
    assert unknown.read_text() == ""  # nothing was learnt without --accept-new
    changed = tmp_path / "wrong_known_hosts"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "impostor")], check=True)
    other_key = (tmp_path / "impostor.pub").read_text().split()
    changed.write_text("".join(f"{a} {other_key[0]} {other_key[1]}\n" for a in ("198.18.0.19", "198.18.0.20")))
    code, data, _ = verify(with_known_hosts(inventory, changed), tmp_path, "--accept-new")
    assert code == 3
    assert all("CHANGED" in h["checks"][0]["message"] for h in data["hosts"])
