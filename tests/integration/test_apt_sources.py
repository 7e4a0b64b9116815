"""apt_source and package on real hosts, against a signed repository served by another sandbox host.

node31 builds a tiny repository (a trivial .deb made with dpkg-deb, indexed with apt-ftparchive,
Release signed with a fresh gpg key) and serves it over HTTP; the client hosts add it with its key
(from a role file, fingerprint pinned) and install, hold, upgrade, remove and purge its package. The
clients run bookworm (node32), bullseye (node33, whose apt has no /etc/apt/keyrings yet) and trixie
(node34, apt 3 with sqv checking the signature).
"""

from __future__ import annotations

import hashlib
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from configurator.resources import openpgp
from configurator.sandbox import Sandbox, SandboxHost
from tests.integration.engine_helpers import changed_steps, configure, etc_checksum, sh, write_inventory

pytestmark = pytest.mark.integration
SERVER = "node31"
CLIENTS = ["node32", "node33", "node34"]  # bookworm, bullseye, trixie (conftest.SANDBOX_RELEASES)
PORT = 8000
REPO = "/srv/cfgrepo"
GNUPG = "/root/cfgrepo-gnupg"
UNIT = "cfgtest-repo"  # the transient unit serving the repository on node31
STAMP, STALE = "/var/lib/configurator/apt-lists.stamp", "/var/lib/configurator/apt-lists.stale"
SOURCES, KEY = "/etc/apt/sources.list.d/cfgdemo.sources", "/etc/apt/keyrings/cfgdemo.gpg"

# sh on node31: gpg (from apt) and a signing key made once; `publish VERSION` adds a version and re-signs
SERVER_SETUP = textwrap.dedent(f"""\
    set -e
    export DEBIAN_FRONTEND=noninteractive GNUPGHOME={GNUPG}
    if ! command -v gpg >/dev/null; then
      timeout 600 apt-get -q -y install gnupg >/dev/null 2>&1 || {{
        timeout 600 apt-get -q update >/dev/null; timeout 600 apt-get -q -y install gnupg >/dev/null; }}
    fi
    if [ ! -e {GNUPG}/made ]; then
      rm -rf {GNUPG}; mkdir -m 700 {GNUPG}
      gpg -q --batch --passphrase '' --quick-gen-key 'configurator test repository <repo@cfg.test>' ed25519 sign never
      touch {GNUPG}/made
    fi
    rm -rf {REPO}; mkdir -p {REPO}/pool
""")
PUBLISH = textwrap.dedent(f"""\
    set -e
    export GNUPGHOME={GNUPG}
    v=$1; d=$(mktemp -d); arch=$(dpkg --print-architecture)
    if [ "${{2-}}" = only ]; then rm -f {REPO}/pool/cfgdemo_*.deb; fi
    mkdir -p $d/DEBIAN $d/etc/cfgdemo $d/usr/share/cfgdemo
    printf 'Package: cfgdemo\\nVersion: %s\\nArchitecture: all\\nMaintainer: tests <tests@cfg.test>\\n' $v \\
      > $d/DEBIAN/control
    printf 'Description: a trivial package for the apt_source tests\\n' >> $d/DEBIAN/control
    echo /etc/cfgdemo/demo.conf > $d/DEBIAN/conffiles
    echo 'greeting = hello' > $d/etc/cfgdemo/demo.conf; echo $v > $d/usr/share/cfgdemo/version
    dpkg-deb -Zgzip --root-owner-group -b $d {REPO}/pool/cfgdemo_${{v}}_all.deb >/dev/null; rm -rf $d
    cd {REPO}; mkdir -p dists/stable/main/binary-$arch
    apt-ftparchive packages pool > dists/stable/main/binary-$arch/Packages
    gzip -kf dists/stable/main/binary-$arch/Packages
    apt-ftparchive -o APT::FTPArchive::Release::Suite=stable -o APT::FTPArchive::Release::Codename=stable \\
      -o APT::FTPArchive::Release::Architectures=$arch -o APT::FTPArchive::Release::Components=main \\
      release dists/stable > /tmp/Release.cfgrepo
    mv /tmp/Release.cfgrepo dists/stable/Release
    gpg -q --batch --yes --clearsign -o dists/stable/InRelease dists/stable/Release
    gpg -q --batch --yes -abs -o dists/stable/Release.gpg dists/stable/Release
""")
SERVE = textwrap.dedent(f"""\
    systemctl stop {UNIT} 2>/dev/null; systemctl reset-failed {UNIT} 2>/dev/null
    systemd-run -q --unit={UNIT} -p RuntimeMaxSec=3600 python3 -m http.server {PORT} --bind ADDRESS \\
      --directory {REPO}
    n=0; until python3 -c 'import urllib.request as u; u.urlopen("http://ADDRESS:{PORT}/dists/stable/Release")' \\
      2>/dev/null; do n=$((n + 1)); [ $n -lt 50 ] || exit 1; sleep 0.2; done
""")
# sh on a client: nothing of the demo left, the repository reached directly (not through the sandbox's
# apt cache), and apt's lists freshly refreshed as far as the age goes: only a changed source refreshes them
CLIENT_RESET = textwrap.dedent(f"""\
    export DEBIAN_FRONTEND=noninteractive
    echo 'Acquire::http::Proxy::SERVER "DIRECT";' > /etc/apt/apt.conf.d/99cfgtest-direct
    apt-mark unhold cfgdemo >/dev/null 2>&1; apt-get -q -y purge cfgdemo >/dev/null 2>&1
    rm -f {SOURCES} {KEY} /var/lib/apt/lists/SERVER*
    mkdir -p -m 0700 /var/lib/configurator; touch {STAMP}; rm -f {STALE}
""")


class Lab:
    """The repository on node31 and one client host with an inventory that gives it the demo role."""

    def __init__(self, sandbox: Sandbox, top: Path, client: str, armored: str, fingerprint: str) -> None:
        self.sandbox, self.top, self.client = sandbox, top, client
        self.armored, self.fingerprint = armored, fingerprint
        self.host: SandboxHost = sandbox.host(client)
        self.uri = f"http://{sandbox.host(SERVER).address}:{PORT}/"
        self.runs = 0

    def role(self, package: dict[str, Any], fingerprint: str | None = None, state: str = "present") -> Path:
        """roles/apt_demo with the source (key from files/) and `package`; the inventory for the client."""
        folder = self.top / "roles" / "apt_demo"
        (folder / "files").mkdir(parents=True, exist_ok=True)
        (folder / "files" / "cfgdemo.asc").write_text(self.armored)
        source = {"name": "cfgdemo", "uris": [self.uri], "suites": ["stable"], "src": "cfgdemo.asc",
                  "fingerprint": fingerprint or self.fingerprint, "state": state}
        resources = [{"apt_source": source}, {"package": {"name": "cfgdemo", **package}}]
        (folder / "role.yml").write_text(yaml.safe_dump({"resources": resources}, sort_keys=False))
        return write_inventory(self.sandbox, self.top / "inventory.yml",
                               {"apt": {"hosts": [self.client], "roles": ["apt_demo"]}},
                               roles_path=[str(self.top / "roles")])

    def apply(self, package: dict[str, Any], **role: Any) -> tuple[int, dict[str, Any]]:
        self.runs += 1
        code, report = configure("apply", self.role(package, **role), report=self.top / f"run{self.runs}.json")
        assert report is not None or code == 65
        return code, report or {}

    def converged(self, package: dict[str, Any], **role: Any) -> None:
        """A second apply changes nothing and costs one round trip."""
        code, report = self.apply(package, **role)
        assert code == 0 and changed_steps(report, ("changed",)) == {self.client: []}, report
        assert report["hosts"][0]["round_trips"] == 1

    def verified(self) -> None:
        """`configure verify` passes the generated checks (package state and hold, source and key files)."""
        code, report = configure("verify", self.top / "inventory.yml", report=self.top / f"verify{self.runs}.json")
        assert code == 0, report

    def status(self) -> str:
        """dpkg's `want ok current` status and version of the demo package ("" when dpkg has none)."""
        return sh(self.host, "dpkg-query -W -f='${Status} ${Version}' cfgdemo 2>/dev/null", check=False)

    def held(self) -> bool:
        return "cfgdemo" in sh(self.host, "apt-mark showhold").split()


@pytest.fixture(scope="module")
def repository(sandbox: Sandbox) -> Iterator[tuple[str, str]]:
    """The signed repository on node31 with cfgdemo 1.0, served over HTTP: (armored key, gpg's fingerprint)."""
    server = sandbox.host(SERVER)
    sh(server, SERVER_SETUP)
    sh(server, f"cat > /root/cfgrepo-publish.sh <<'EOF'\n{PUBLISH}EOF\nsh /root/cfgrepo-publish.sh 1.0 only")
    sh(server, SERVE.replace("ADDRESS", server.address))
    armored = sh(server, f"GNUPGHOME={GNUPG} gpg --export --armor")
    colons = sh(server, f"GNUPGHOME={GNUPG} gpg --with-colons --fingerprint")
    fingerprint = next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:"))
    yield armored, fingerprint
    sh(server, f"systemctl stop {UNIT}", check=False)


@pytest.fixture(params=CLIENTS)
def lab(request: pytest.FixtureRequest, sandbox: Sandbox, repository: tuple[str, str], tmp_path: Path) -> Lab:
    lab = Lab(sandbox, tmp_path, request.param, *repository)
    sh(sandbox.host(SERVER), "sh /root/cfgrepo-publish.sh 1.0 only")  # a test before may have published 1.1
    sh(lab.host, CLIENT_RESET.replace("SERVER", sandbox.host(SERVER).address))
    return lab


def test_python_reads_the_fingerprint_gpg_prints(lab: Lab) -> None:
    assert openpgp.primary_fingerprints(openpgp.dearmor(lab.armored)) == [lab.fingerprint]


def test_a_wrong_pinned_fingerprint_is_refused_before_any_change(lab: Lab) -> None:
    before = etc_checksum(lab.host)
    wrong = lab.fingerprint[:-1] + ("0" if lab.fingerprint[-1] != "0" else "1")
    code, _ = lab.apply({}, fingerprint=wrong)
    assert code == 65
    assert etc_checksum(lab.host) == before
    assert lab.status() == "" and sh(lab.host, f"ls {SOURCES} {KEY} 2>/dev/null", check=False) == ""


def test_the_source_and_key_install_a_package_in_the_same_run(lab: Lab) -> None:
    started = time.monotonic()
    code, report = lab.apply({})
    first = time.monotonic() - started
    assert code == 0, report
    assert lab.status() == "install ok installed 1.0"
    stanza = (f"Types: deb\nURIs: {lab.uri}\nSuites: stable\nComponents: main\nSigned-By: {KEY}\n")
    assert sh(lab.host, f"cat {SOURCES}") == stanza
    assert sh(lab.host, f"stat -c '%a %U %G' {SOURCES} {KEY}").split() == ["644", "root", "root"] * 2
    key_sum = sh(lab.host, f"sha256sum {KEY}").split()[0]
    assert key_sum == hashlib.sha256(openpgp.dearmor(lab.armored)).hexdigest()
    # the lists were fresh by their age: only the changed source refreshed them, and the mark is gone
    server = lab.sandbox.host(SERVER).address
    assert sh(lab.host, f"ls /var/lib/apt/lists/ | grep -c '^{server}'").strip() != "0"
    assert sh(lab.host, f"test -e {STALE} && echo marked || echo clear").strip() == "clear"
    started = time.monotonic()
    lab.converged({})
    print(f"{lab.client}: first run {first:.1f} s, converged run {time.monotonic() - started:.2f} s")
    lab.verified()


def test_hold_latest_remove_and_purge(lab: Lab) -> None:
    assert lab.apply({"hold": True})[0] == 0
    assert lab.held() and lab.status() == "hold ok installed 1.0"
    lab.converged({"hold": True})
    lab.verified()
    sh(lab.sandbox.host(SERVER), "sh /root/cfgrepo-publish.sh 1.1")
    # the lists are fresh: apt's candidate is still 1.0, so `latest` only releases the hold
    assert lab.apply({"state": "latest", "hold": False})[0] == 0
    assert not lab.held() and lab.status() == "install ok installed 1.0"
    # a day later the lists are stale: `latest` refreshes them first and finds 1.1
    sh(lab.host, f"touch -d '2 days ago' {STAMP} /var/lib/apt/lists")
    code, report = lab.apply({"state": "latest"})
    assert code == 0 and lab.status() == "install ok installed 1.1", report
    lab.converged({"state": "latest"})
    assert lab.apply({"state": "absent"})[0] == 0
    assert lab.status() == "deinstall ok config-files 1.1"
    assert sh(lab.host, "cat /etc/cfgdemo/demo.conf") == "greeting = hello\n"
    lab.converged({"state": "absent"})
    assert lab.apply({"state": "purged"})[0] == 0
    assert lab.status() in ("", "unknown ok not-installed ", "purge ok not-installed ")
    assert sh(lab.host, "ls /etc/cfgdemo 2>/dev/null", check=False) == ""
    lab.converged({"state": "purged"})
    lab.verified()


def test_a_hold_set_by_hand_is_never_changed_behind(lab: Lab) -> None:
    assert lab.apply({})[0] == 0
    sh(lab.host, "apt-mark hold cfgdemo >/dev/null")
    code, report = lab.apply({"state": "absent"})
    assert code == 1 and "held" in report["hosts"][0]["error"], report
    assert lab.held() and lab.status().startswith("hold ok installed ")


def test_removing_the_source_removes_its_key_and_marks_the_lists(lab: Lab) -> None:
    assert lab.apply({})[0] == 0
    code, report = lab.apply({"state": "purged"}, state="absent")
    assert code == 0, report
    assert sh(lab.host, f"ls {SOURCES} {KEY} 2>/dev/null", check=False) == ""
    assert sh(lab.host, f"test -e {STALE} && echo marked").strip() == "marked"
    lab.converged({"state": "purged"}, state="absent")
