"""Sysctl: live value and persisted file text in, `sysctl -w` and an Upload out."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from configurator.engine.actions import Run, Upload
from configurator.resources.base import decide
from configurator.resources.sysctl import Sysctl, normalise

FWD = Sysctl("net.ipv4.ip_forward", "1")
FWD_FILE = "/etc/sysctl.d/60-configurator-net.ipv4.ip_forward.conf"
RMEM = Sysctl("net.ipv4.tcp_rmem", "4096 87380 6291456", persist=False)


def saved(content: bytes | None, mode: str = "644") -> str:
    """What File's probe reports for the persisted file (None: missing)."""
    if content is None:
        return "type=absent\n"
    sha = hashlib.sha256(content).hexdigest()
    return f"type=regular file\nmode={mode}\nowner=root\ngroup=root\nsha256={sha}\n"


def run_probe(resource: Sysctl) -> str:
    result = subprocess.run(["sh", "-c", resource.probe()], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, check=True)
    return result.stdout


@pytest.mark.parametrize(("live", "status"), [
    ("4096 87380 6291456", "ok"),
    ("4096\t87380\t6291456", "ok"),
    ("4096\t87380\t6291456 ", "ok"),  # the probe joins lines with spaces, trailing one included
    (" 4096  87380\t6291456", "ok"),
    ("4096 87380 6291457", "change"),
    ("", "change"),
])
def test_plan_live_value_compares_whitespace_normalised(live: str, status: str) -> None:
    step = decide(RMEM, f"live={live}\n")
    assert step.status == status
    if status == "change":
        assert step.actions == (Run(("sysctl", "-w", "net.ipv4.tcp_rmem=4096 87380 6291456")),)
        assert step.summary == f"net.ipv4.tcp_rmem {normalise(live)!r} -> '4096 87380 6291456'"


def test_plan_wanted_value_is_normalised_too() -> None:
    step = decide(Sysctl("net.ipv4.tcp_rmem", " 4096\t87380  6291456\n", persist=False), "live=4096 1 2\n")
    assert step.actions == (Run(("sysctl", "-w", "net.ipv4.tcp_rmem=4096 87380 6291456")),)


UPLOAD = Upload(FWD_FILE, b"net.ipv4.ip_forward = 1\n", "0644", "root", "root")
WRITE = Run(("sysctl", "-w", "net.ipv4.ip_forward=1"))


@pytest.mark.parametrize(("observed", "status", "actions"), [
    ("live=1\n" + saved(b"net.ipv4.ip_forward = 1\n"), "ok", ()),
    ("live=0\n" + saved(b"net.ipv4.ip_forward = 1\n"), "change", (WRITE,)),
    ("live=1\n" + saved(None), "change", (UPLOAD,)),
    ("live=0\n" + saved(None), "change", (WRITE, UPLOAD)),
    ("live=1\n" + saved(b"net.ipv4.ip_forward=1\n"), "change", (UPLOAD,)),
    ("live=1\n" + saved(b"net.ipv4.ip_forward = 1\n", mode="600"),
     "change", (Run(("chmod", "00644", "--", FWD_FILE), at=FWD_FILE),)),
    ("live=1\ntype=directory\n", "unknown", ()),
])
def test_plan_persisted_file(observed: str, status: str, actions: tuple[object, ...]) -> None:
    step = decide(FWD, observed)
    assert (step.status, step.actions) == (status, actions)


def test_plan_change_summary_and_diff() -> None:
    step = decide(FWD, "live=0\n" + saved(None))
    assert step.summary == f"net.ipv4.ip_forward '0' -> '1'; create {FWD_FILE}"
    assert "+net.ipv4.ip_forward = 1\n" in step.diff


def test_plan_not_persisted_ignores_the_file() -> None:
    assert decide(Sysctl("net.ipv4.ip_forward", "1", persist=False), "live=1\ntype=directory\n").status == "ok"


@pytest.mark.parametrize(("observed", "message"), [
    ("live_error=missing\n", "no such key (/proc/sys/net/ipv4/ip_forward)"),
    ("live_error=unreadable\n", "cannot be read"),
    ("", "cannot be read"),
])
def test_plan_unknown(observed: str, message: str) -> None:
    step = decide(FWD, observed)
    assert step.status == "unknown" and message in step.summary


@pytest.mark.parametrize(("name", "problem"), [
    ("net/ipv4/ip_forward", "must use dots, not '/'"),
    ("ip_forward", "is not a dotted key"),
    ("net..ipv4", "is not a dotted key"),
    ("net.ipv4.conf.*.rp_filter", "is not a dotted key"),
    ("net.ipv4 .x", "is not a dotted key"),
])
def test_validate_name(name: str, problem: str) -> None:
    assert any(problem in p for p in Sysctl(name, "1").validate())


def test_validate_value_and_good_names() -> None:
    assert Sysctl("kernel.core_pattern", "a\nb").validate() == ["value must be one line"]
    for name in ("net.ipv4.ip_forward", "net.ipv6.conf.all.disable_ipv6", "net.ipv4.conf.eth-0.rp_filter"):
        assert Sysctl(name, "1\n").validate() == []


def test_proc_path_and_persisted_file() -> None:
    assert FWD.proc_path == "/proc/sys/net/ipv4/ip_forward"
    file = FWD.persisted()
    assert (file.path, file.content, file.mode, file.owner, file.group) == (
        FWD_FILE, b"net.ipv4.ip_forward = 1\n", "0644", "root", "root")


def test_probe_is_valid_sh() -> None:
    for resource in (FWD, RMEM):
        subprocess.run(["sh", "-n", "-c", resource.probe()], check=True)


@pytest.mark.parametrize("key", ["kernel.printk", "net.ipv4.ip_local_port_range", "kernel.ostype"])
def test_probe_reads_whole_multi_field_values(key: str) -> None:
    # /proc/sys answers only a read at offset 0: a byte-wise read would see the first character
    expected = Path("/proc/sys", *key.split(".")).read_text()
    resource = Sysctl(key, expected, persist=False)
    assert decide(resource, run_probe(resource)).status == "ok"
    other = Sysctl(key, expected + " 1", persist=False)
    assert decide(other, run_probe(other)).actions == (Run(("sysctl", "-w", f"{key}={normalise(expected)} 1")),)


def test_probe_and_plan_agree_on_missing_unreadable_and_unpersisted() -> None:
    missing = Sysctl("kernel.no_such_key_cfg", "1")
    assert "no such key" in decide(missing, run_probe(missing)).summary
    drop = Sysctl("vm.drop_caches", "1", persist=False)  # mode 0200: root may write, not read
    assert decide(drop, run_probe(drop)).status == "unknown"
    ostype = Sysctl("kernel.ostype", "Linux")
    if Path(ostype.persisted().path).exists():
        pytest.skip("this machine has a persisted file for kernel.ostype")
    step = decide(ostype, run_probe(ostype))
    assert (step.status, step.actions) == ("change", decide(ostype.persisted(), "type=absent\n").actions)


def test_checks_on_the_local_host() -> None:
    testinfra = pytest.importorskip("testinfra")
    host = testinfra.get_host("local://")
    live = Path("/proc/sys/kernel/printk").read_text()
    Sysctl("kernel.printk", live.replace("\t", "  "), persist=False).checks()[0].test(host)
    with pytest.raises(AssertionError, match="sysctl kernel.ostype is 'Linux', expected 'Hurd'"):
        Sysctl("kernel.ostype", "Hurd", persist=False).checks()[0].test(host)
    assert len(Sysctl("kernel.ostype", "Linux").checks()) == 2
