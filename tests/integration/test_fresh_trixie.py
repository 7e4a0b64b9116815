"""Every new resource in one role on a fresh trixie host (node60), served by a bookworm host (node61).

node61 serves a signed apt repository (a key made by this test), a git repository with a tag
(git daemon) and a release tarball (HTTP). The fresh_trixie role (tests/integration/roles) adds the
repository and installs its package, opens port 8080 in nftables, mounts a tmpfs, checks out the tag,
downloads and unpacks the tarball (sha256 pinned) and installs a timer. The first run converges it,
the second changes nothing in one round trip, `configure verify` passes, and each effect is read on
the host: dpkg, real connections from node61, /proc/mounts, the commit id, files and owners, the timer.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from configurator.sandbox import Sandbox, SandboxHost
from tests.integration.engine_helpers import changed_steps, configure, sh, write_inventory
from tests.integration.test_apt_sources import GNUPG, PORT, PUBLISH, SERVE, SERVER_SETUP
from tests.integration.test_firewall_git_downloads import (
    INSTALL,
    REPOSITORY,
    answers,
    commit,
    publish,
    release_tar,
    serve,
    wait_for,
)

pytestmark = pytest.mark.integration
TARGET, SERVER = "node60", "node61"  # trixie, bookworm (conftest.SANDBOX_RELEASES)
WWW_PORT = 8001  # the tarball; PORT (8000) serves the apt repository
TMPFS, SRC, APP = "/mnt/fresh-scratch", "/srv/fresh-src", "/opt/fresh-app"
# node60 as it was booted: nothing of the role left (packages, ruleset, mount, user, files, units)
RESET = f"""
export DEBIAN_FRONTEND=noninteractive
systemctl stop fresh-listen-8080 fresh-listen-9090 2>/dev/null
echo 'Acquire::http::Proxy::SERVER "DIRECT";' > /etc/apt/apt.conf.d/99cfgtest-direct
command -v nft >/dev/null && nft flush ruleset
systemctl disable --now fresh-tick.timer nftables.service 2>/dev/null
rm -f /etc/systemd/system/fresh-tick.* /etc/nftables.conf /var/lib/configurator/nftables.loaded
systemctl daemon-reload
umount {TMPFS} 2>/dev/null; sed -i '\\|{TMPFS}|d' /etc/fstab
rm -rf {TMPFS} {SRC} /var/cache/fresh {APP}
userdel fresh 2>/dev/null
apt-get -q -y purge cfgdemo nftables git curl >/dev/null 2>&1
apt-get -q -y autoremove --purge >/dev/null 2>&1
rm -f /etc/apt/sources.list.d/cfgdemo.sources /etc/apt/keyrings/cfgdemo.gpg /var/lib/apt/lists/SERVER*
rm -f /var/lib/configurator/apt-lists.stamp /var/lib/configurator/apt-lists.stale
true
"""


def signed_repository(server: SandboxHost) -> tuple[str, str]:
    """cfgdemo 1.0 in a repository on node61 signed by a key made now: (armored key, its fingerprint)."""
    sh(server, f"rm -rf {GNUPG}")
    sh(server, SERVER_SETUP)
    sh(server, f"cat > /root/cfgrepo-publish.sh <<'EOF'\n{PUBLISH}EOF\nsh /root/cfgrepo-publish.sh 1.0 only")
    sh(server, SERVE.replace("ADDRESS", server.address))
    armored = sh(server, f"GNUPGHOME={GNUPG} gpg --export --armor")
    colons = sh(server, f"GNUPGHOME={GNUPG} gpg --with-colons --fingerprint")
    return armored, next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:"))


def role_vars(server: SandboxHost) -> dict[str, Any]:
    """What node61 serves, as the role's variables (the git repository, the tarball, the apt repository)."""
    sh(server, INSTALL)
    sh(server, REPOSITORY)
    serve(server, "fresh-gitd", f"git daemon --reuseaddr --export-all --base-path=/srv/git --listen={server.address} "
                                "/srv/git")
    tarball = release_tar({"app-2.0/bin/run": "#!/bin/sh\necho 2.0\n", "app-2.0/VERSION": "2.0\n"})
    sums = publish(server, {"fresh-app-2.0.tar.gz": tarball})
    serve(server, "fresh-www", f"python3 -m http.server --bind {server.address} --directory /srv/www {WWW_PORT}")
    key, fingerprint = signed_repository(server)
    for port in (WWW_PORT, 9418):
        wait_for(server, server.address, port)
    return {"fresh_repo_uri": f"http://{server.address}:{PORT}/", "fresh_repo_key": key,
            "fresh_repo_fingerprint": fingerprint, "fresh_git_repo": f"git://{server.address}/app.git",
            "fresh_git_tag": "v1", "fresh_tarball_url": f"http://{server.address}:{WWW_PORT}/fresh-app-2.0.tar.gz",
            "fresh_tarball_sha256": sums["fresh-app-2.0.tar.gz"]}


@pytest.fixture
def project(sandbox: Sandbox, tmp_path: Path) -> Path:
    """node60 reset to what it booted with; an inventory that gives it the fresh_trixie role."""
    server = sandbox.host(SERVER)
    values = role_vars(server)
    sh(sandbox.host(TARGET), RESET.replace("SERVER", server.address))
    return write_inventory(sandbox, tmp_path / "inventory.yml",
                           {"fresh": {"hosts": [TARGET], "roles": ["fresh_trixie"], "vars": values}})


def next_elapse(host: SandboxHost, timer: str) -> float:
    """Seconds from now until systemd next starts `timer` (NextElapse as `systemctl show` has it)."""
    when = sh(host, f"systemctl show -p NextElapseUSecRealtime --value {timer}").strip()
    assert when, f"{timer} is not scheduled"
    return float(sh(host, f"echo $(( $(date -d '{when}' +%s) - $(date +%s) ))"))


def assert_effects(sandbox: Sandbox, target: SandboxHost) -> None:
    """What the role did, read on the host and from node61."""
    server = sandbox.host(SERVER)
    assert sh(target, "dpkg-query -W -f='${Status} ${Version}' cfgdemo") == "install ok installed 1.0"
    assert sh(target, "cat /usr/share/cfgdemo/version") == "1.0\n"
    for port in (8080, 9090):  # both listen; only 8080 is open
        serve(target, f"fresh-listen-{port}", f"python3 -m http.server --bind {target.address} {port}")
    wait_for(target, target.address, 9090)
    assert answers(server, target.address, 8080) and not answers(server, target.address, 9090)
    assert answers(server, target.address, 22)
    tmpfs = [line.split() for line in sh(target, "cat /proc/mounts").splitlines() if line.split()[1] == TMPFS]
    assert len(tmpfs) == 1 and tmpfs[0][2] == "tmpfs" and "nosuid" in tmpfs[0][3].split(","), tmpfs
    head = sh(target, f"runuser -u fresh -- git -C {SRC} rev-parse HEAD").strip()
    assert head == commit({"server": server}, "v1")
    assert sh(target, f"cat {SRC}/VERSION") == "release 1\n"
    assert sh(target, f"{APP}/bin/run && cat {APP}/VERSION") == "2.0\n2.0\n"
    assert sh(target, f"find {APP} -printf '%u\\n' | sort -u").split() == ["fresh"]
    assert 0 < next_elapse(target, "fresh-tick.timer") <= 15 * 60
    assert sh(target, "systemctl is-enabled fresh-tick.timer").strip() == "enabled"


def test_a_fresh_trixie_host_converges_every_new_resource_then_costs_one_round_trip(sandbox, project, tmp_path):
    target = sandbox.host(TARGET)
    started = time.monotonic()
    code, first = configure("apply", project, report=tmp_path / "first.json")
    took = time.monotonic() - started
    assert code == 0 and first is not None, first
    assert_effects(sandbox, target)
    code, again = configure("apply", project, report=tmp_path / "again.json")
    assert code == 0 and again is not None and changed_steps(again, ("changed",)) == {TARGET: []}, again
    assert again["hosts"][0]["round_trips"] == 1
    code, verified = configure("verify", project, report=tmp_path / "verify.json")
    assert code == 0 and verified is not None, verified
    checks = verified["hosts"][0]["checks"]
    assert checks and all(c["status"] == "passed" for c in checks), checks
    print(f"\nfirst run {took:.1f} s, {first['hosts'][0]['round_trips']} round trips, "
          f"{len(changed_steps(first, ('changed',))[TARGET])} steps changed; second run "
          f"{again['hosts'][0]['round_trips']} round trip; verify {len(checks)} checks")
