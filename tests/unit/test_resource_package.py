"""Package: dpkg-query/apt-cache text in, apt-get argv out; the probe runs against local dpkg."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from configurator.engine.actions import Run
from configurator.resources.base import decide
from configurator.resources.package import (
    APT_ENV,
    APT_OPTS,
    LIST_MAX_AGE,
    LISTS_AGE,
    STAMP,
    UPDATE,
    UPDATE_SCRIPT,
    UPDATE_TRY_SECONDS,
    Package,
    merge_installs,
)

INSTALLED = "status=install ok installed\nversion=1.22.1-9\n"
FRESH = f"lists_age={LIST_MAX_AGE - 1}\n"
STALE = f"lists_age={LIST_MAX_AGE + 1}\n"


def apt(verb: str, *targets: str) -> Run:
    return Run(("apt-get", *APT_OPTS, verb, "--", *targets), env=APT_ENV, timeout=1800)


@pytest.mark.parametrize(("package", "observed", "status", "summary", "actions"), [
    (Package("nginx"), INSTALLED + FRESH, "ok", "nginx 1.22.1-9", ()),
    (Package("nginx"), FRESH, "change", "install nginx", (apt("install", "nginx"),)),
    (Package("nginx"), STALE, "change", "install nginx", (UPDATE, apt("install", "nginx"))),
    (Package("nginx"), "", "change", "install nginx", (apt("install", "nginx"),)),
    (Package("nginx"), "status=deinstall ok config-files\nversion=1.22.1-9\n" + FRESH, "change",
     "install nginx", (apt("install", "nginx"),)),
    (Package("nginx"), "status=install ok unpacked\nversion=1.22.1-9\n" + FRESH, "change",
     "install nginx", (apt("install", "nginx"),)),
    (Package("nginx", state="latest"), INSTALLED + FRESH + "candidate=1.22.1-9\n", "ok", "nginx 1.22.1-9", ()),
    (Package("nginx", state="latest"), INSTALLED + FRESH + "candidate=1.22.1-10\n", "change",
     "upgrade nginx 1.22.1-9 -> 1.22.1-10", (apt("install", "nginx=1.22.1-10"),)),
    (Package("nginx", state="latest"), INSTALLED + FRESH, "ok", "nginx 1.22.1-9", ()),
    (Package("nginx", state="latest"), FRESH + "candidate=(none)\n", "unknown",
     "nginx: no installable version known to apt", ()),
    (Package("nginx", version="1.22.1-9"), INSTALLED + FRESH, "ok", "nginx 1.22.1-9", ()),
    (Package("nginx", version="1.22.1-8"), INSTALLED + STALE, "change", "upgrade nginx 1.22.1-9 -> 1.22.1-8",
     (UPDATE, apt("install", "nginx=1.22.1-8"))),
    (Package("nginx", version="1.22.1-8"), FRESH, "change", "install nginx=1.22.1-8",
     (apt("install", "nginx=1.22.1-8"),)),
    (Package("nginx", state="absent"), INSTALLED + STALE, "change", "remove nginx 1.22.1-9",
     (apt("remove", "nginx"),)),
    (Package("nginx", state="absent"), FRESH, "ok", "", ()),
])
def test_plan(package: Package, observed: str, status: str, summary: str, actions: tuple[Run, ...]) -> None:
    step = decide(package, observed)
    assert (step.status, step.summary, step.actions) == (status, summary, actions)


def test_plan_kinds() -> None:
    assert decide(Package("nginx"), FRESH).kind == "create"
    assert decide(Package("nginx", state="latest"), INSTALLED + "candidate=2\n").kind == "modify"
    assert decide(Package("nginx", state="absent"), INSTALLED).kind == "remove"


@pytest.mark.parametrize(("actions", "merged"), [
    ([apt("install", "a"), apt("install", "b")], [apt("install", "a", "b")]),
    ([UPDATE, apt("install", "a"), UPDATE, apt("install", "b")], [UPDATE, apt("install", "a", "b")]),
    ([apt("install", "a"), Run(("true",)), apt("install", "b")],
     [apt("install", "a"), Run(("true",)), apt("install", "b")]),
    ([apt("purge", "a"), apt("purge", "b")], [apt("purge", "a"), apt("purge", "b")]),
    ([apt("install", "a=1"), apt("install", "b"), apt("install", "c")], [apt("install", "a=1", "b", "c")]),
    ([], []),
])
def test_merge_installs(actions: list[Run], merged: list[Run]) -> None:
    assert merge_installs(list(actions)) == merged


@pytest.mark.parametrize("package", [Package("nginx"), Package("a b'c", state="latest"), Package("x", version="1")])
def test_probe_is_valid_sh(package: Package) -> None:
    subprocess.run(["sh", "-n", "-c", package.probe()], check=True)


def installed_version(name: str) -> str:
    result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True, text=True, check=True)
    return result.stdout


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs a Debian machine")
def test_probe_and_plan_agree_on_this_machine() -> None:
    version = installed_version("dash")
    for package, status, kind in [
        (Package("dash"), "ok", ""),
        (Package("dash", version=version), "ok", ""),
        (Package("dash", version=version + "+other"), "change", "modify"),
        (Package("dash", state="absent"), "change", "remove"),
        (Package("no-such-package-cfg"), "change", "create"),
        (Package("no-such-package-cfg", state="absent"), "ok", ""),
    ]:
        probe = subprocess.run(["sh", "-c", package.probe()], capture_output=True, text=True, check=True,
                               stdin=subprocess.DEVNULL)
        step = decide(package, probe.stdout)
        assert (step.status, step.kind) == (status, kind), (package, probe.stdout)


def test_checks_on_the_local_host() -> None:
    testinfra = pytest.importorskip("testinfra")
    if shutil.which("dpkg-query") is None:
        pytest.skip("needs a Debian machine")
    host = testinfra.get_host("local://")
    Package("dash").checks()[0].test(host)
    Package("no-such-package-cfg", state="absent").checks()[0].test(host)
    with pytest.raises(AssertionError, match="package no-such-package-cfg is not installed"):
        Package("no-such-package-cfg").checks()[0].test(host)
    with pytest.raises(AssertionError, match="pinned 0"):
        Package("dash", version="0").checks()[0].test(host)


# The lists' age as the probe computed it before it avoided `sort`, `tail` and `ls` (the reference).
OLD_LISTS_AGE = ("l=$(stat -c %Y STAMP LISTS 2>/dev/null | sort -n | tail -n1); l=${l:-0}; "
                 "ls LISTS/*_Packages >/dev/null 2>&1 || l=0; a=$(( $(date +%s) - l ))")


@pytest.mark.parametrize(("stamp", "lists", "packages", "newest"), [
    (None, 1000, ["deb_Packages"], "1000"), (5000, 1000, ["deb_Packages"], "5000"),
    (500, 1000, ["a_Packages", "b_Packages"], "1000"), (5000, 1000, [], "0"), (5000, 1000, ["deb_Sources"], "0"),
    (5000, None, [], "0"), (None, None, [], "0"), (None, 1000, ["dangling_Packages"], "1000"),
])
def test_lists_age_matches_the_reference(tmp_path: Path, stamp: int | None, lists: int | None,
                                         packages: list[str], newest: str) -> None:
    stamp_path, lists_path = tmp_path / "stamp", tmp_path / "lists dir"
    if lists is not None:
        lists_path.mkdir()
        for name in packages:
            if name.startswith("dangling"):
                (lists_path / name).symlink_to(tmp_path / "nowhere")
            else:
                (lists_path / name).write_text("")
        os.utime(lists_path, (lists, lists))
    if stamp is not None:
        stamp_path.write_text("")
        os.utime(stamp_path, (stamp, stamp))
    new = LISTS_AGE.replace(STAMP, "STAMP").replace("/var/lib/apt/lists", "LISTS")
    both = [text.replace("STAMP", shlex.quote(str(stamp_path))).replace("LISTS", shlex.quote(str(lists_path)))
            for text in (OLD_LISTS_AGE, new)]
    script = "".join(f'{text}; echo "$l"\n' for text in both)
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == [newest, newest], script


@pytest.mark.parametrize(("behaviour", "status", "calls"), [
    ("ok", 0, 1),
    ("fail fail ok", 0, 3),
    ("hang ok", 0, 2),  # a try that hangs is ended and retried
    ("fail fail fail", 1, 3),
])
def test_list_update_is_bounded_and_retried(tmp_path, behaviour, status, calls):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "plan").write_text(behaviour.replace(" ", "\n") + "\n")
    fake = bin_dir / "apt-get"
    fake.write_text(f"#!/bin/sh\necho x >> {tmp_path}/calls\nstep=$(sed -n \"$(wc -l < {tmp_path}/calls)p\" "
                    f"{tmp_path}/plan)\n[ \"$step\" = hang ] && exec sleep 30\n[ \"$step\" = ok ]\n")
    fake.chmod(0o755)
    script = (UPDATE_SCRIPT.replace(f"timeout {UPDATE_TRY_SECONDS}", "timeout 1").replace('sleep "$n"', "true")
              .replace("/var/lib/configurator", str(tmp_path / "state")))
    done = subprocess.run(["sh", "-c", script], env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == status
    assert len((tmp_path / "calls").read_text().splitlines()) == calls
    assert (tmp_path / "state" / "apt-lists.stamp").exists() == (status == 0)
