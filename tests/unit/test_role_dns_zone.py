"""The `zone` resource as data: records from the inventory, the serial from the live file; the probe runs for real."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from configurator.engine.actions import Run, Upload
from configurator.errors import InputError, Location
from configurator.resources.base import decide
from configurator.resources.schema import build
from configurator.resources.zone import Zone, next_serial, normalize, reverse_network, soa_serial

TODAY = 20250314
HOSTS = {
    "node1": {"address": "198.18.0.11", "vars": {}},
    "node2": {"address": "198.18.0.12", "vars": {"mac": "02:00:00:00:00:12"}},
    "web.lab.example": {"address": "198.18.0.30", "vars": {}},
    "hidden": {"address": "198.18.0.40", "vars": {"dns": False}},
    "byname": {"address": "byname", "vars": {}},
    "v6": {"address": "2001:db8::6", "vars": {}},
    "elsewhere": {"address": "10.1.2.3", "vars": {}},
}


def forward(**changes: object) -> Zone:
    base = Zone(path="/etc/bind/zones/db.lab.example", zone="lab.example", nameserver="ns1",
                nameserver_address="198.18.0.14", hosts=HOSTS,
                records=[{"name": "www", "type": "CNAME", "value": "node1"}])
    return replace(base, **changes)  # type: ignore[arg-type]


def reverse(**changes: object) -> Zone:
    base = Zone(path="/etc/bind/zones/db.0.18.198.in-addr.arpa", zone="0.18.198.in-addr.arpa",
                domain="lab.example", nameserver="ns1", hosts=HOSTS)
    return replace(base, **changes)  # type: ignore[arg-type]


def records(zone: Zone) -> list[str]:
    """The record lines after the SOA."""
    text = zone.render(1).decode()
    return text.split("\t)\n", 1)[1].splitlines()


def observed(content: bytes | None, zone: Zone, mode: str = "644", owner: str = "root", group: str = "bind",
             today: int = TODAY) -> str:
    """What the probe prints for the live file `content` (None: missing)."""
    if content is None:
        return f"type=absent\ntoday={today}\n"
    normalized = hashlib.sha256(normalize(content)).hexdigest()
    text = f"type=regular file\nmode={mode}\nowner={owner}\ngroup={group}\nnormalized={normalized}\n"
    if normalized != zone.normalized_sha256:
        text += f"content_b64={base64.b64encode(content).decode()}\n"
    return text + f"today={today}\n"


# -- records ---------------------------------------------------------------------------------------

def test_forward_zone_has_ns_glue_and_one_record_per_host_that_wants_one():
    assert records(forward()) == [
        "@\tIN\tNS\tns1.lab.example.",
        "ns1\tIN\tA\t198.18.0.14",
        "elsewhere\tIN\tA\t10.1.2.3",
        "node1\tIN\tA\t198.18.0.11",
        "node2\tIN\tA\t198.18.0.12",
        "web\tIN\tA\t198.18.0.30",  # an inventory name inside the zone is written relative to it
        "v6\tIN\tAAAA\t2001:db8::6",
        "www\tIN\tCNAME\tnode1",
    ]


def test_reverse_zone_has_ptr_records_for_the_hosts_inside_its_network():
    assert records(reverse()) == [
        "@\tIN\tNS\tns1.lab.example.",
        "11\tIN\tPTR\tnode1.lab.example.",
        "12\tIN\tPTR\tnode2.lab.example.",
        "30\tIN\tPTR\tweb.lab.example.",
    ]
    wide = reverse(zone="18.198.in-addr.arpa", path="/etc/bind/zones/db.18.198.in-addr.arpa")
    assert "11.0\tIN\tPTR\tnode1.lab.example." in records(wide)


def test_soa_names_the_nameserver_and_contact():
    text = forward(contact="dns.admin@example.org").render(2025031400).decode()
    assert "@\tIN\tSOA\tns1.lab.example. dns\\.admin.example.org. (\n\t2025031400 ; serial\n" in text
    assert "hostmaster.lab.example." in reverse().render(1).decode()  # default contact: hostmaster@domain
    assert "$ORIGIN 0.18.198.in-addr.arpa.\n$TTL 3600\n" in reverse().render(1).decode()


def test_an_absolute_nameserver_outside_the_zone_gets_no_glue():
    zone = forward(nameserver="ns.example.net.", hosts={}, records=[])
    assert records(zone) == ["@\tIN\tNS\tns.example.net."]


def test_nameserver_that_is_also_an_inventory_host_is_written_once():
    zone = forward(nameserver="node1", nameserver_address="198.18.0.11", records=[])
    assert records(zone).count("node1\tIN\tA\t198.18.0.11") == 1


def test_hosts_are_ordered_by_address_so_inventory_order_does_not_matter():
    shuffled = dict(reversed(list(HOSTS.items())))
    assert forward(hosts=shuffled).render(1) == forward().render(1)


def test_extra_records_keep_ttl_and_quote_txt():
    extra = [{"name": "@", "type": "mx", "value": "10 mail", "ttl": 300},
             {"name": "info", "type": "TXT", "value": 'say "hi"'},
             {"name": "_sip._tcp", "type": "SRV", "value": "0 5 5060 node1"}]
    assert records(forward(hosts={}, records=extra))[2:] == [
        "@\t300\tIN\tMX\t10 mail", 'info\tIN\tTXT\t"say \\"hi\\""', "_sip._tcp\tIN\tSRV\t0 5 5060 node1"]


@pytest.mark.parametrize(("changes", "problem"), [
    ({"records": [{"name": "x", "type": "A", "value": "1.2.3.4\nevil IN A 6.6.6.6"}]},
     "records[0]: value '1.2.3.4\\nevil IN A 6.6.6.6' must be text on one line"),
    ({"records": [{"name": "two words", "type": "A", "value": "1.2.3.4"}]}, "must be one word"),
    ({"records": [{"name": "x", "type": "A B", "value": "1.2.3.4"}]}, "is not a record type"),
    ({"records": [{"name": "x", "type": "A", "value": "1.2.3.4", "class": "IN"}]}, "unknown key 'class'"),
    ({"records": {"name": "x"}}, "records must be a list"),
    ({"records": "[{"}, "records must be a list"),  # text is not a list: no JSON inside strings
    ({"hosts": {"db_1": {"address": "198.18.0.50"}}}, "'db_1' is not a valid DNS host name"),
    ({"hosts": {"db": {"address": "db", "vars": {"dns": True}}}}, "is not an IP address"),
    ({"nameserver_address": "ns-address"}, "nameserver_address 'ns-address' is not an IP address"),
    ({"zone": "lab example"}, "zone 'lab example' is not a domain name"),
    ({"ttl": -1}, "ttl must be a number of seconds"),
])
def test_bad_values_are_refused_before_any_connection(changes, problem):
    zone = forward(**changes)
    assert any(problem in p for p in zone.validate()), zone.validate()
    with pytest.raises(InputError, match="zone in role dns"):
        build(Zone, {k: getattr(zone, k) for k in ("path", "zone", "nameserver", "nameserver_address",
                                                   "hosts", "records", "ttl")},
              Location("role.yml", 3), "zone in role dns")


def test_record_values_are_left_to_the_zone_checker():
    broken = forward(records=[{"name": "broken", "type": "A", "value": "999.1.2.3"}])
    assert broken.validate() == []
    assert "broken\tIN\tA\t999.1.2.3" in records(broken)


def test_reverse_network_of_zone_names():
    assert str(reverse_network("0.18.198.in-addr.arpa")) == "198.18.0.0/24"
    assert str(reverse_network("18.198.in-addr.arpa.")) == "198.18.0.0/16"
    assert str(reverse_network("10.in-addr.arpa")) == "10.0.0.0/8"
    for bad in ("0/25.0.18.198.in-addr.arpa", "01.18.198.in-addr.arpa", "256.in-addr.arpa", "1.2.3.4.in-addr.arpa"):
        with pytest.raises(ValueError):
            reverse_network(bad)
    assert any("classless" in p for p in reverse(zone="0-25.0.18.198.in-addr.arpa").validate())


# -- serials ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("live", "today", "expected"), [
    (None, TODAY, 2025031400),
    (2024120103, TODAY, 2025031400),  # an older date-based serial jumps to today's first
    (2025031400, TODAY, 2025031401),
    (2025031499, TODAY, 2025031500),  # more than 99 changes in a day borrow from tomorrow
    (2030010100, TODAY, 2030010101),  # a serial ahead of the date only ever grows
    (7, TODAY, 2025031400),
    (2**32 - 1, TODAY, 0),  # RFC 1982: 0 follows 4294967295
])
def test_next_serial(live, today, expected):
    assert next_serial(live, today) == expected


@pytest.mark.parametrize(("text", "serial"), [
    (forward().render(2025031405), 2025031405),
    (b"@ 3600 IN SOA ns.example. hm.example. 2019010101 7200 3600 1209600 3600\n", 2019010101),
    (b'$TTL 1h\n; a "SOA" in a comment\nx IN TXT "SOA 1 2 3"\n@ IN SOA ns hm (\n  42 ; serial\n  1 2 3 4 )\n', 42),
    (b"@ IN SoA ns.example. hm.example. (\n\t2019010101\n\t1 2 3 4 )\n", 2019010101),
    (b"x IN A 1.2.3.4\n", None),
    (b"@ IN SOA ns hm notanumber 1 2 3 4\n", None),
    (b"@ IN SOA ns hm 99999999999 1 2 3 4\n", None),
])
def test_soa_serial_of_any_zone_file(text, serial):
    assert soa_serial(text) == serial


def test_normalize_sets_aside_only_the_first_serial_line():
    text = forward().render(2025031405)
    assert normalize(text) == normalize(forward().render(1))
    assert b"SERIAL ; serial" in normalize(text) and b"2025031405" not in normalize(text)
    assert normalize(b"1 ; serial\n2 ; serial\n") == b"SERIAL ; serial\n2 ; serial\n"


# -- plan ------------------------------------------------------------------------------------------

def test_a_missing_zone_is_created_with_todays_first_serial_and_checked_before_it_is_installed():
    zone = forward()
    step = decide(zone, observed(None, zone))
    assert step.status == "change" and step.kind == "create"
    (upload,) = step.actions
    assert isinstance(upload, Upload)
    assert upload.content == zone.render(2025031400)
    assert upload.validate == ("named-checkzone", "-k", "fail", "lab.example", "%s")
    assert (upload.mode, upload.owner, upload.group) == ("0644", "root", "bind")
    assert "+node1\tIN\tA\t198.18.0.11" in step.diff


def test_same_records_keep_the_live_serial_whatever_it_is():
    zone = forward()
    for serial in (1, 2025031400, 2099123199):
        step = decide(zone, observed(zone.render(serial), zone, today=TODAY + 5))
        assert step.status == "ok", step


def test_changed_records_get_the_next_serial_and_a_diff():
    zone = forward()
    live = forward(records=[]).render(2025031402)
    step = decide(zone, observed(live, zone))
    assert step.status == "change" and step.kind == "modify"
    assert step.summary == "zone lab.example records changed (serial 2025031402 -> 2025031403)"
    (upload,) = step.actions
    assert isinstance(upload, Upload) and upload.content == zone.render(2025031403)
    assert "-\t2025031402 ; serial" in step.diff and "+\t2025031403 ; serial" in step.diff
    assert "+www\tIN\tCNAME\tnode1" in step.diff


def test_a_hand_written_zone_is_taken_over_with_a_serial_above_its_own():
    zone = forward()
    live = b"$TTL 300\n@ IN SOA ns.lab.example. root.lab.example. 2031010105 1 2 3 4\n@ IN NS ns\n"
    step = decide(zone, observed(live, zone))
    assert step.actions[0].content == zone.render(2031010106)  # type: ignore[union-attr]


def test_only_metadata_drift_is_fixed_without_rewriting_the_zone():
    zone = forward()
    step = decide(zone, observed(zone.render(2025031400), zone, mode="600", group="root"))
    assert step.status == "change"
    assert step.actions == (Run(("chown", "root:bind", "--", zone.path), at=zone.path),
                            Run(("chmod", "00644", "--", zone.path), at=zone.path))


def test_states_the_plan_cannot_read():
    zone = forward()
    assert decide(zone, "type=directory\ntoday=20250314\n").status == "unknown"
    assert decide(zone, "type=link\ntoday=20250314\n").status == "unknown"
    with pytest.raises(KeyError):  # the engine turns this into an `unknown` step
        decide(zone, "type=absent\n")


# -- the probe, run for real against files ---------------------------------------------------------

def run_probe(zone: Zone) -> str:
    done = subprocess.run(["sh", "-c", zone.probe()], capture_output=True, text=True, check=True)
    return done.stdout


def test_probe_normalizes_like_python_and_sends_content_only_when_records_differ(tmp_path: Path):
    path = tmp_path / "db.lab.example"
    path.write_bytes(forward().render(2025031407))
    path.chmod(0o644)
    owner, group = path.owner(), path.group()
    zone = forward(path=str(path), owner=owner, group=group)
    seen = run_probe(zone)
    assert f"normalized={zone.normalized_sha256}\n" in seen
    assert "content_b64=" not in seen and "type=regular file\n" in seen
    assert decide(zone, seen).status == "ok"

    changed = forward(path=str(path), owner=owner, group=group, records=[])
    seen = run_probe(changed)
    assert base64.b64decode(seen.split("content_b64=")[1].split("\n")[0]) == zone.render(2025031407)
    step = decide(changed, seen)
    assert "(serial 2025031407 -> " in step.summary


def test_probe_of_a_missing_file_and_the_hosts_date(tmp_path: Path):
    seen = run_probe(forward(path=str(tmp_path / "nothing")))
    lines = seen.splitlines()
    assert lines[0] == "type=absent"
    assert lines[1].startswith("today=") and len(lines[1]) == len("today=YYYYMMDD")
