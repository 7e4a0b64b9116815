"""Check mode on node43 tells what apply will do after an earlier step of the run: a service whose
drop-in a file step writes is reloaded by apply, so check says so, and a saved plan of it applies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.engine_helpers import changed_steps, configure, sh, ssh_settings

pytestmark = pytest.mark.integration
HOST = "node43"
DROPIN = "/etc/systemd/system/ssh.service.d/cfg-foresee.conf"
CLEAN = f"rm -rf {Path(DROPIN).parent}; systemctl daemon-reload"
RELOAD = "daemon-reload (unit file or drop-in changed)"


@pytest.fixture
def host(sandbox: Any) -> Any:
    found = sandbox.host(HOST)
    sh(found, CLEAN)
    yield found
    sh(found, CLEAN, check=False)


def project(sandbox: Any, top: Path) -> Path:
    role = top / "roles" / "foresee_demo"
    role.mkdir(parents=True)
    (role / "role.yml").write_text(yaml.safe_dump({"resources": [
        {"directory": {"path": str(Path(DROPIN).parent)}},
        {"file": {"path": DROPIN, "content": "[Service]\nEnvironment=CFG_FORESEE=1\n"}},
        {"service": {"name": "ssh", "state": "running"}},
    ]}))
    inventory = top / "inventory.yml"
    inventory.write_text(yaml.safe_dump({
        "ssh": ssh_settings(sandbox), "roles_path": [str(top / "roles")],
        "hosts": {HOST: {"address": sandbox.host(HOST).address}},
        "groups": {"demo": {"hosts": [HOST], "roles": ["foresee_demo"]}}}, sort_keys=False))
    return inventory


def summaries(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {s["resource"]: (s["status"], s["summary"]) for s in report["hosts"][0]["steps"]}


def test_check_foresees_the_reload_of_a_new_drop_in_and_its_saved_plan_applies(sandbox, host, tmp_path):
    inventory, plan = project(sandbox, tmp_path), tmp_path / "plan.json"
    code, check = configure("check", inventory, "--out", plan, report=tmp_path / "check.json")
    assert code == 2 and check is not None, check
    assert summaries(check)["service[ssh]"] == ("pending", RELOAD)  # the probe alone saw nothing to do
    code, applied = configure("apply", plan, report=tmp_path / "apply.json")  # the plan's gate agrees
    assert code == 0 and applied is not None, applied
    assert summaries(applied)["service[ssh]"] == ("changed", RELOAD)
    assert DROPIN in sh(host, "systemctl show -p DropInPaths ssh")  # systemd loaded it: the reload happened
    code, again = configure("apply", inventory, report=tmp_path / "again.json")
    assert code == 0 and again is not None and changed_steps(again, ("changed",)) == {HOST: []}, again
