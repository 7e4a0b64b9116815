"""The dns role on a real host (node4 bookworm, node46 trixie): every inventory host resolves from the
control machine, serials move only with the records, a broken record never reaches the running server."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.engine_helpers import RoleLab, changed_steps, configure, sh

pytestmark = pytest.mark.integration

SERVERS = {"bookworm": "node4", "trixie": "node46"}  # the server of each release the role is tested on
ZONE = "lab.example"
ZONE_FILE = "/etc/bind/zones/db.lab.example"
REVERSE_FILE = "/etc/bind/zones/db.0.18.198.in-addr.arpa"
ZONES = [f"zone[{ZONE_FILE}]", f"zone[{REVERSE_FILE}]"]
ROOT = Path(__file__).resolve().parents[2]


class Lab(RoleLab):
    """An inventory of the sandbox hosts plus hosts that exist only in DNS; node4 serves the zones."""

    def __init__(self, sandbox: Any, folder: Path, server: str) -> None:
        records = [{"name": "www", "type": "CNAME", "value": "node1"}]
        super().__init__(sandbox, folder, server, "dns", {"dns_records": records})
        self.server = sandbox.host(server)
        self.hosts.update({h.name: {"address": h.address} for h in sandbox.hosts})
        self.hosts["extra1"] = {"address": "198.18.0.201", "vars": {"dns": True}}  # only in the inventory
        self.hosts["laptop"] = {"address": "198.18.0.202", "vars": {"dns": False}}  # opted out

    def dig(self, *args: str) -> str:
        """dig from the control machine at the server, bounded in time."""
        done = subprocess.run(["dig", f"@{self.server.address}", "+time=2", "+tries=2", *args],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def short(self, *args: str) -> list[str]:
        return self.dig("+short", *args).split()

    def serial(self, zone: str) -> int:
        return int(self.short(zone, "SOA")[2])

    def checksum(self, path: str) -> str:
        return sh(self.server, f"sha256sum {path}").split()[0]


@pytest.fixture(scope="module", params=sorted(SERVERS))
def lab(request, sandbox, tmp_path_factory):
    lab = Lab(sandbox, tmp_path_factory.mktemp("dns"), SERVERS[request.param])
    assert lab.server.release == request.param
    code, data = lab.apply()
    assert code == 0, data
    return lab


def test_every_inventory_host_resolves_forward_and_reverse(lab):
    for name, spec in lab.hosts.items():
        if spec.get("vars", {}).get("dns") is False:
            continue
        assert lab.short(f"{name}.{ZONE}") == [spec["address"]], name
        assert lab.short("-x", spec["address"]) == [f"{name}.{ZONE}."], name
    assert lab.short(f"www.{ZONE}") == [f"node1.{ZONE}.", lab.hosts["node1"]["address"]]
    assert lab.short(f"ns1.{ZONE}") == [lab.server.address]


def test_a_host_that_opted_out_is_not_in_dns(lab):
    assert "status: NXDOMAIN" in lab.dig(f"laptop.{ZONE}")
    assert "status: NXDOMAIN" in lab.dig("-x", lab.hosts["laptop"]["address"])


def test_second_apply_changes_nothing_and_keeps_the_serials(lab):
    serials = (lab.serial(ZONE), lab.serial("0.18.198.in-addr.arpa"))
    sums = (lab.checksum(ZONE_FILE), lab.checksum(REVERSE_FILE))
    code, data = lab.apply("--detailed-exitcode")
    assert code == 0, data
    assert changed_steps(data) == {lab.server_name: []}
    assert data["hosts"][0]["round_trips"] == 1
    assert (lab.serial(ZONE), lab.serial("0.18.198.in-addr.arpa")) == serials
    assert (lab.checksum(ZONE_FILE), lab.checksum(REVERSE_FILE)) == sums


def test_an_address_change_moves_the_answers_and_the_serials(lab):
    before = (lab.serial(ZONE), lab.serial("0.18.198.in-addr.arpa"))
    lab.hosts["extra1"]["address"] = "198.18.0.203"
    code, data = lab.apply("--detailed-exitcode")
    assert code == 2, data
    assert changed_steps(data, ("changed",)) == {lab.server_name: ZONES}
    assert data["hosts"][0]["handlers"] == ["reload named"]
    assert lab.short(f"extra1.{ZONE}") == ["198.18.0.203"]
    assert lab.short("-x", "198.18.0.203") == [f"extra1.{ZONE}."]
    assert "status: NXDOMAIN" in lab.dig("-x", "198.18.0.201")
    after = (lab.serial(ZONE), lab.serial("0.18.198.in-addr.arpa"))
    assert after[0] > before[0] and after[1] > before[1], (before, after)

    code, data = lab.apply("--detailed-exitcode")
    assert code == 0, data
    assert changed_steps(data) == {lab.server_name: []}
    assert (lab.serial(ZONE), lab.serial("0.18.198.in-addr.arpa")) == after


def test_a_broken_record_is_refused_and_named_keeps_the_old_data(lab):
    checksum, serial = lab.checksum(ZONE_FILE), lab.serial(ZONE)
    # as a user runs it: the console output must name the host, the file and the checker's message
    done = subprocess.run(
        ["python3", "-m", "configurator.cli", "apply", str(lab.write()), "--limit", lab.server_name,
         "--var", "dns_records=[{name: broken, type: A, value: 999.1.2.3}]"],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    error = next(line for line in done.stdout.splitlines() if line.strip().startswith("error:"))
    assert f"zone[{ZONE_FILE}]" in error
    assert "near '999.1.2.3': bad dotted quad" in error  # named-checkzone's own words
    assert "the file was left unchanged" in error
    assert any(line.startswith(f"{lab.server_name} ") and "failed" in line for line in done.stdout.splitlines())

    assert lab.checksum(ZONE_FILE) == checksum
    assert lab.serial(ZONE) == serial
    assert sh(lab.server, "systemctl is-active named").strip() == "active"
    assert lab.short(f"node1.{ZONE}") == [lab.hosts["node1"]["address"]]
    assert "status: NXDOMAIN" in lab.dig(f"broken.{ZONE}")
    assert sh(lab.server, f"ls -a {Path(ZONE_FILE).parent} | grep -c cfg- || true").strip() == "0"

    code, data = lab.apply()  # the inventory itself is fine: the next run converges
    assert code == 0, data
    assert changed_steps(data, ("changed",)) == {lab.server_name: []}
    assert lab.checksum(ZONE_FILE) == checksum


def test_recursion_is_off_by_default_and_limited_to_the_lab_subnet_when_on(lab):
    def recursion_available() -> bool:
        header = lab.dig(f"node1.{ZONE}").split("flags:")[1].split(";")[0]
        return "ra" in header.split()

    assert not recursion_available()
    try:
        code, data = lab.apply("--var", "dns_recursion=true")
        assert code == 0, data
        assert recursion_available()  # the control machine is 198.18.0.1, inside the lab subnet
        code, data = lab.apply("--var", "dns_recursion=true", "--var", "dns_recursion_clients=[192.0.2.0/24]")
        assert code == 0, data
        assert not recursion_available()
    finally:
        code, data = lab.apply()
    assert code == 0, data
    assert not recursion_available()


def test_the_roles_own_tests_and_generated_checks_pass(lab):
    code, data = configure("verify", lab.write(), "--limit", lab.server_name, report=lab.folder / "verify.json")
    assert code == 0, data
    names = [c["name"] for c in data["hosts"][0]["checks"]]
    assert "dns/tests/test_dns.py::test_named_answers_on_port_53" in names
    assert any(n.startswith(f"zone[{ZONE_FILE}]") for n in names)
