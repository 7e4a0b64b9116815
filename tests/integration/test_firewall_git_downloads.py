"""nftables, git, download and archive on real hosts: node38 serves a git repository (git daemon) and
files over HTTP; node39 (bookworm), node40 (bullseye) and node41 (trixie) are configured. Traffic is
tested with real connections from node38, commits are read on the host, unpacked files and owners
checked, hostile archives refused."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from configurator.sandbox import SandboxHost
from configurator.sandbox.layout import GATEWAY
from tests.integration.engine_helpers import changed_steps, configure, sh, write_inventory

pytestmark = pytest.mark.integration
SERVER, TARGETS = "node38", ("node39", "node40", "node41")
WWW, GIT = "/srv/www", "/srv/git"
RESET = ("nft flush ruleset 2>/dev/null; rm -f /etc/nftables.conf /var/lib/configurator/nftables.loaded; "
         "rm -rf /srv/app /srv/app-main /opt/app-1.0 /opt/app-zip /opt/evil /var/cache/dl /tmp/escaped; "
         "systemctl stop fgd-listen-8080 fgd-listen-9090 2>/dev/null; true")
APT = "DEBIAN_FRONTEND=noninteractive apt-get install -y -q git >/dev/null"
INSTALL = f"command -v git >/dev/null || {APT} 2>&1 || {{ apt-get update -q >/dev/null && {APT}; }}"
# node38's repository: v1 on the first commit, main one commit later
REPOSITORY = f"""
rm -rf {GIT} /tmp/fgd-work && mkdir -p {GIT} && git init -q --bare -b main {GIT}/app.git
git init -q -b main /tmp/fgd-work && cd /tmp/fgd-work
for n in 1 2; do echo "release $n" > VERSION && git add VERSION
  git -c user.name=t -c user.email=t@t commit -q -m "release $n"; [ $n = 2 ] || git tag v1; done
git push -q {GIT}/app.git main v1
"""


def ruleset(*ports: int) -> str:
    allowed = ", ".join(str(p) for p in ports)
    return ("#!/usr/sbin/nft -f\nflush ruleset\n\ntable inet filter {\n  chain input {\n"
            "    type filter hook input priority filter; policy drop;\n"
            "    ct state established,related accept\n    iifname \"lo\" accept\n"
            f"    tcp dport {{ {allowed} }} accept\n  }}\n}}\n")


def release_tar(members: dict[str, str], links: dict[str, str] | None = None, mode: str = "w:gz") -> bytes:
    """A tar archive in memory: files (name: text) and symlinks (name: target)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:
        for name, text in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(text.encode()), 0o755 if name.endswith("/run") else 0o644
            archive.addfile(info, io.BytesIO(text.encode()))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return out.getvalue()


def release_zip(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return out.getvalue()


def publish(host: SandboxHost, files: dict[str, bytes]) -> dict[str, str]:
    """Files on node38's web server; their sha256 by name."""
    for name, data in files.items():
        sh(host, f"mkdir -p {WWW} && base64 -d > {WWW}/{name} <<'EOF'\n{base64.b64encode(data).decode()}\nEOF")
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def serve(host: SandboxHost, unit: str, command: str) -> None:
    """A long-running command on a host as a transient systemd unit (restarted fresh each session)."""
    sh(host, f"systemctl stop {unit} 2>/dev/null; systemctl reset-failed {unit} 2>/dev/null; "
             f"systemd-run --quiet --unit={unit} {command}")


def answers(client: SandboxHost, address: str, port: int, wait: float = 3.0) -> bool:
    """Whether a new TCP connection from `client` to address:port is accepted within `wait` seconds."""
    probe = (f"python3 -c 'import socket; socket.create_connection((\"{address}\", {port}), timeout={wait}).close()'")
    return sh(client, f"{probe} 2>/dev/null && echo yes || echo no").strip() == "yes"


def wait_for(client: SandboxHost, address: str, port: int) -> None:
    deadline = time.monotonic() + 15
    while not answers(client, address, port, 1.0):
        assert time.monotonic() < deadline, f"nothing answers on {address}:{port}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def lab(sandbox: Any) -> dict[str, Any]:
    """node38 serving git (port 9418) and HTTP (port 8000); the targets reset."""
    server = sandbox.host(SERVER)
    for name in TARGETS:
        sh(sandbox.host(name), RESET)
    sh(server, INSTALL)
    sh(server, REPOSITORY)
    serve(server, "fgd-gitd", f"git daemon --reuseaddr --export-all --base-path={GIT} --listen={server.address} {GIT}")
    sums = publish(server, {
        "app-1.0.tar.gz": release_tar({"app-1.0/bin/run": "#!/bin/sh\necho 1.0\n", "app-1.0/VERSION": "1.0\n"},
                                      {"app-1.0/current": "bin/run"}),
        "app-1.0.zip": release_zip({"lib/app.py": "print(1)\n", "README": "zip\n"}),
        "evil-dotdot.tar.gz": release_tar({"ok": "x", "../../tmp/escaped": "pwned"}),
        "evil-link.tar.xz": release_tar({"ok": "x"}, {"etc": "../../../etc"}, mode="w:xz"),
    })
    serve(server, "fgd-www", f"python3 -m http.server --bind {server.address} --directory {WWW} 8000")
    wait_for(sandbox.host(TARGETS[0]), server.address, 8000)
    wait_for(sandbox.host(TARGETS[0]), server.address, 9418)
    return {"server": server, "sums": sums}


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, sandbox: Any, lab: dict[str, Any]) -> SandboxHost:
    """Each target host in turn (one per Debian release)."""
    host: SandboxHost = sandbox.host(request.param)
    return host


def commit(lab: dict[str, Any], ref: str) -> str:
    """The commit `ref` names in node38's repository now."""
    return sh(lab["server"], f"git -C {GIT}/app.git rev-parse {ref}^{{commit}}").strip()


def head(host: SandboxHost, dest: str) -> str:
    """HEAD of a checkout, read as its owner (root does not run git in a tree another user owns)."""
    return sh(host, f"runuser -u app -- git -C {dest} rev-parse HEAD").strip()


def role(top: Path, name: str, resources: list[dict[str, Any]]) -> None:
    folder = top / "roles" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "role.yml").write_text(yaml.safe_dump({"resources": resources}, sort_keys=False))


def inventory(sandbox: Any, top: Path, name: str, target: SandboxHost) -> Path:
    return write_inventory(sandbox, top / f"{name}.yml", {"fgd": {"hosts": [target.name], "roles": [name]}},
                           roles_path=["roles"])


def full_role(lab: dict[str, Any]) -> list[dict[str, Any]]:
    """Everything on node39: packages, a user, the firewall, two checkouts, downloads, archives."""
    url, sums = f"http://{lab['server'].address}:8000", lab["sums"]
    repo = f"git://{lab['server'].address}/app.git"
    return [
        {"package": {"name": name}} for name in ("nftables", "git", "curl", "unzip")
    ] + [
        {"user": {"name": "app", "system": True}},
        {"nftables": {"content": ruleset(22, 8080)}},
        {"git": {"repo": repo, "dest": "/srv/app", "version": "v1", "owner": "app"}},
        {"git": {"repo": repo, "dest": "/srv/app-main", "version": "main", "owner": "app"}},
        {"directory": {"path": "/var/cache/dl", "mode": "0755"}},
        {"download": {"url": f"{url}/app-1.0.tar.gz", "path": "/var/cache/dl/app-1.0.tar.gz",
                      "sha256": sums["app-1.0.tar.gz"]}},
        {"download": {"url": f"{url}/app-1.0.zip", "path": "/var/cache/dl/app-1.0.zip",
                      "sha256": sums["app-1.0.zip"], "via": "controller", "mode": "0600"}},
        {"archive": {"path": "/var/cache/dl/app-1.0.tar.gz", "dest": "/opt/app-1.0", "owner": "app",
                     "strip_components": 1}},
        {"archive": {"path": "/var/cache/dl/app-1.0.zip", "dest": "/opt/app-zip", "owner": "app"}},
    ]


def test_converges_with_real_traffic_commits_and_files_then_one_round_trip(sandbox, lab, target, tmp_path):
    server = lab["server"]
    role(tmp_path, "fgd_full", full_role(lab))
    path = inventory(sandbox, tmp_path, "fgd_full", target)
    code, report = configure("apply", path, report=tmp_path / "apply.json")
    assert code == 0, report
    # the firewall: 8080 answers, 9090 (listening too) does not, SSH keeps working (a new run connects)
    for port in (8080, 9090):
        serve(target, f"fgd-listen-{port}", f"python3 -m http.server --bind {target.address} {port}")
    time.sleep(1.0)
    assert answers(server, target.address, 8080) and answers(target, target.address, 9090)
    assert not answers(server, target.address, 9090)
    assert sh(target, "cat /etc/nftables.conf") == ruleset(22, 8080)
    assert sh(target, "systemctl is-enabled nftables.service").strip() == "enabled"
    # the checkouts, at the commits node38 has, owned by app
    assert head(target, "/srv/app") == commit(lab, "v1")
    assert head(target, "/srv/app-main") == commit(lab, "main")
    assert sh(target, "stat -c %U /srv/app /srv/app/VERSION /srv/app/.git/HEAD").split() == ["app"] * 3
    # downloads and archives: content, owner, the marker; the zip went through the control machine
    assert sh(target, "sha256sum /var/cache/dl/app-1.0.zip").split()[0] == lab["sums"]["app-1.0.zip"]
    assert sh(target, "stat -c '%a %U' /var/cache/dl/app-1.0.zip").split() == ["600", "root"]
    fetched = sh(server, "journalctl -q -u fgd-www -o cat | grep 'GET /app-1.0' || true").splitlines()
    assert {line.split()[0] for line in fetched if "app-1.0.zip" in line} == {GATEWAY}
    fetchers = {line.split()[0] for line in fetched if "app-1.0.tar.gz" in line}
    assert target.address in fetchers and GATEWAY not in fetchers
    assert sh(target, "/opt/app-1.0/bin/run").strip() == "1.0"
    assert sh(target, "readlink /opt/app-1.0/current").strip() == "bin/run"
    assert sh(target, "cat /opt/app-zip/lib/app.py") == "print(1)\n"
    owners = sh(target, "find /opt/app-1.0 /opt/app-zip -printf '%u\\n' | sort -u").split()
    assert owners == ["app"]
    assert sh(target, "cat /opt/app-1.0/.configurator-archive").strip() == lab["sums"]["app-1.0.tar.gz"]
    # a second run: nothing to do, one round trip; verify passes
    code, again = configure("apply", path, report=tmp_path / "again.json")
    assert code == 0 and again is not None and changed_steps(again, ("changed",)) == {target.name: []}, again
    assert again["hosts"][0]["round_trips"] == 1
    code, verified = configure("verify", path, report=tmp_path / "verify.json")
    assert code == 0, verified


def test_a_branch_follows_the_remote_and_drift_is_repaired(sandbox, lab, target, tmp_path):
    server = lab["server"]
    role(tmp_path, "fgd_full", full_role(lab))
    path = inventory(sandbox, tmp_path, "fgd_full", target)
    assert configure("apply", path)[0] == 0
    sh(server, f"cd /tmp/fgd-work && echo {target.name} > VERSION && git -c user.name=t -c user.email=t@t "
               f"commit -qam {target.name} && git push -q {GIT}/app.git main")
    newest = commit(lab, "main")
    sh(target, "nft flush ruleset")  # the live ruleset changed by hand
    code, pending = configure("check", path, report=tmp_path / "check.json")
    assert code == 2 and pending is not None
    assert set(changed_steps(pending)[target.name]) == {"git[/srv/app-main]", "nftables[/etc/nftables.conf]"}
    assert configure("apply", path)[0] == 0
    assert head(target, "/srv/app-main") == newest
    assert not answers(server, target.address, 9090) and answers(server, target.address, 22)


def test_a_ruleset_that_would_cut_the_runs_ssh_is_refused_before_any_change(sandbox, lab, target, tmp_path):
    before = sh(target, "nft -s list ruleset | sha256sum; cat /etc/nftables.conf 2>/dev/null | sha256sum")
    role(tmp_path, "fgd_cut", [{"nftables": {"content": ruleset(8080)}}])
    path = inventory(sandbox, tmp_path, "fgd_cut", target)
    code, report = configure("apply", path, report=tmp_path / "cut.json")
    assert code == 1 and report is not None
    assert "refusing the ruleset: chain filter/input (hook input) would drop a new SSH connection from 198.18.0.1 " \
           "to port 22" in report["hosts"][0]["error"]
    assert sh(target, "nft -s list ruleset | sha256sum; cat /etc/nftables.conf 2>/dev/null | sha256sum") == before
    code, checked = configure("check", path, report=tmp_path / "check.json")  # a new connection: still reachable
    assert code == 2 and checked is not None and checked["hosts"][0]["steps"][0]["status"] == "unknown"


def test_a_ruleset_the_guard_cannot_read_through_is_refused_by_the_rehearsal_on_the_host(sandbox, lab, target,
                                                                                         tmp_path):
    before = sh(target, "nft -s list ruleset | sha256sum; cat /etc/nftables.conf 2>/dev/null | sha256sum")
    early_drop = ruleset(22).replace("  chain input {", "  chain early {\n    type filter hook prerouting priority "
                                     "-300; policy drop;\n    iifname \"lo\" accept\n  }\n  chain input {")
    role(tmp_path, "fgd_early", [{"nftables": {"content": early_drop}}])
    code, report = configure("apply", inventory(sandbox, tmp_path, "fgd_early", target), report=tmp_path / "early.json")
    assert code == 1 and report is not None
    error = report["hosts"][0]["error"]
    assert "a new connection from 198.18.0.1 to " + target.address + " port 22 was dropped" in error, error
    assert "validation refused the new content" in error
    assert sh(target, "nft -s list ruleset | sha256sum; cat /etc/nftables.conf 2>/dev/null | sha256sum") == before
    assert sh(target, "ip netns list; ip -o link show | grep -c cfgnft || true").strip() == "0"  # nothing left


@pytest.mark.parametrize(("name", "why"), [
    ("evil-dotdot.tar.gz", "../../tmp/escaped: an absolute name or a .. component"),
    ("evil-link.tar.xz", "etc -> ../../../etc: a target outside the destination"),
])
def test_hostile_archives_are_refused_before_anything_is_written(sandbox, lab, target, tmp_path, name, why):
    url = f"http://{lab['server'].address}:8000/{name}"
    role(tmp_path, "fgd_evil", [
        {"package": {"name": "xz-utils"}},
        {"directory": {"path": "/var/cache/dl", "mode": "0755"}},
        {"download": {"url": url, "path": f"/var/cache/dl/{name}", "sha256": lab["sums"][name]}},
        {"archive": {"path": f"/var/cache/dl/{name}", "dest": "/opt/evil"}},
    ])
    code, report = configure("apply", inventory(sandbox, tmp_path, "fgd_evil", target), report=tmp_path / "evil.json")
    assert code == 1 and report is not None and why in report["hosts"][0]["error"], report["hosts"][0]["error"]
    assert sh(target, "ls -d /opt/evil /opt/.cfg-unpack-* /tmp/escaped 2>/dev/null || true") == ""
