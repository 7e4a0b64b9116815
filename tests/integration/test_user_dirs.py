"""Root in directories that an ordinary user can write: swaps and symlink races gain that user nothing.

alice owns /home/alice. While she races the run (temp files and the targets replaced by symlinks to
root's files, ~/.ssh flipped between a directory and a symlink), root's files keep their owner, mode
and content; the state directory and world-writable directories are refused with a clear message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.engine_helpers import configure, sh, write_inventory
from tests.integration.faults_helpers import background

pytestmark = pytest.mark.integration
DECOYS = "/etc/decoy.conf /root/decoy-dir"
APPLIES = 20

# alice's side of the race, bounded in time: every temp file and the managed names become links to root's
RACE = r"""
end=$(( $(date +%s) + 240 ))
cd /home/alice || exit 1
while [ "$(date +%s)" -lt "$end" ]; do
  for f in .*cfg-* current.cfg-new; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    rm -rf -- "$f" 2>/dev/null; ln -s /etc/decoy.conf "$f" 2>/dev/null
  done
  if [ -f app.conf ] && [ ! -L app.conf ]; then mv -f app.conf app.real; ln -s /etc/decoy.conf app.conf; fi
  if [ -d .ssh ] && [ ! -L .ssh ]; then mv -f .ssh .ssh.real; ln -s /root/decoy-dir .ssh; fi
  if [ -d data ] && [ ! -L data ]; then mv -f data data.real; ln -s /root/decoy-dir data; fi
  for f in app .ssh data; do
    [ -L "$f" ] || continue
    case $f in app) r=app.real; n=app.conf ;; *) r=$f.real; n=$f ;; esac
    [ -e "$r" ] && rm -f "$n" && mv -f "$r" "$n"
  done 2>/dev/null
done
"""


@pytest.fixture
def lab(sandbox, tmp_path: Path):
    host = sandbox.host("node13")
    sh(host, "userdel -r alice 2>/dev/null; rm -rf /home/alice /tmp/cfg-app.conf; useradd -m -s /bin/sh alice;"
             "printf 'root secret\\n' > /etc/decoy.conf; chmod 0600 /etc/decoy.conf;"
             "rm -rf /root/decoy-dir; mkdir -m 0700 /root/decoy-dir; echo keep > /root/decoy-dir/f")
    inventory = write_inventory(sandbox, tmp_path / "inv.yml", {"users": {"hosts": [host.name],
                                                                          "roles": ["userdir_demo"]}})
    yield host, inventory
    sh(host, "userdel -r alice 2>/dev/null; rm -rf /home/alice /etc/decoy.conf /root/decoy-dir", check=False)


def decoys(host) -> str:
    return sh(host, f"stat -c '%U:%G %a %F %n' {DECOYS} /root/decoy-dir/f; cat /etc/decoy.conf /root/decoy-dir/f")


def test_a_user_racing_the_run_never_gets_roots_files(lab):
    host, inventory = lab
    before = decoys(host)
    assert "root:root 600 regular file /etc/decoy.conf" in before
    race = background(host, ["setpriv", "--reuid=alice", "--regid=alice", "--init-groups", "sh", "-c", RACE])
    try:
        codes = [configure("apply", inventory, "--var", f"n={n}")[0] for n in range(APPLIES)]
    finally:
        race.stop()
    sh(host, "cd /home/alice && for n in app.conf .ssh data; do if [ -L $n ]; then rm -f $n; fi; done;"
             "[ ! -e app.real ] || mv app.real app.conf;"
             "for n in .ssh data; do [ ! -e $n.real ] || mv $n.real $n; done")
    assert decoys(host) == before  # owner, mode, type and content of root's files untouched
    assert set(codes) <= {0, 1}, codes
    assert configure("apply", inventory, "--var", "n=final")[0] == 0  # without the race it converges
    assert sh(host, "stat -c '%U:%G %a' /home/alice/app.conf; cat /home/alice/app.conf") == \
        "alice:alice 644\nversion=final\n"
    assert sh(host, "readlink /home/alice/current") == "/srv/release-final\n"


def test_a_squatted_temp_name_does_not_replace_the_link(lab):
    host, inventory = lab
    sh(host, "mkdir -p /home/alice/current.cfg-new && chown nobody /home/alice/current.cfg-new")
    assert configure("apply", inventory)[0] == 0
    assert sh(host, "stat -c '%F' /home/alice/current; readlink /home/alice/current") == \
        "symbolic link\n/srv/release-0\n"


def test_a_file_given_to_another_user_in_alices_directory_is_refused(lab, tmp_path):
    host, inventory = lab
    code, report = configure("apply", inventory, "--var", "home_owner=root", report=tmp_path / "r.json")
    assert code == 1
    assert "acted as uid" in report["hosts"][0]["error"]  # root does not chown in alice's directory
    assert sh(host, "ls -a /home/alice | grep -c cfg- || true") == "0\n"  # no temp file left
    assert sh(host, "test ! -e /home/alice/app.conf && echo absent") == "absent\n"


def test_world_writable_directories_are_refused(lab, tmp_path):
    host, inventory = lab
    code, report = configure("apply", inventory, "--var", "home_file=/tmp/cfg-app.conf", report=tmp_path / "r.json")
    assert code == 1
    assert "refusing to act in /tmp" in report["hosts"][0]["error"]
    assert sh(host, "test ! -e /tmp/cfg-app.conf && echo absent") == "absent\n"


@pytest.mark.parametrize("tamper", [
    "chown nobody /var/lib/configurator && ln -sf /etc/decoy.conf /var/lib/configurator/handlers.pending",
    "chmod 0777 /var/lib/configurator",
    "chmod 0770 /var/lib/configurator && chgrp nogroup /var/lib/configurator",
    "rm -f /var/lib/configurator/lock && mkfifo /var/lib/configurator/lock",
    "rm -f /var/lib/configurator/handlers.pending && ln -s /etc/decoy.conf /var/lib/configurator/handlers.pending",
])
def test_an_unsafe_state_directory_is_refused(lab, tmp_path, tamper):
    host, inventory = lab
    assert configure("apply", inventory)[0] == 0
    before = decoys(host)
    sh(host, tamper)
    try:
        code, report = configure("apply", inventory, "--var", "n=1", report=tmp_path / "r.json")
        assert code == 1
        assert "/var/lib/configurator" in report["hosts"][0]["error"]
        assert decoys(host) == before
    finally:
        sh(host, "rm -rf /var/lib/configurator")
    assert configure("apply", inventory, "--var", "n=1")[0] == 0  # recreated as root's own
    assert sh(host, "stat -c '%U %a' /var/lib/configurator") == "root 700\n"


def test_a_state_directory_only_root_can_write_is_tightened_to_0700(lab):
    host, inventory = lab
    sh(host, "mkdir -p /var/lib/configurator && chmod 0755 /var/lib/configurator")  # as older releases made it
    assert configure("apply", inventory)[0] == 0
    assert sh(host, "stat -c '%U %a' /var/lib/configurator") == "root 700\n"
