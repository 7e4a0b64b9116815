"""Release: observed text in, actions out; the probe and the deploy script run for real on a temp tree."""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from configurator.engine.actions import Run, Upload
from configurator.resources.base import decide
from configurator.resources.release import Release

URL = "http://127.0.0.1:8000/healthz"
FILES = {"release.env": "APP_VERSION=v3\n"}
SHA = hashlib.sha256(FILES["release.env"].encode()).hexdigest()


def release(**kw: Any) -> Release:
    args: dict[str, Any] = {"app": "shop", "version": "v3", "root": "/srv/shop", "service": "shop",
                            "health_url": URL, "files": FILES} | kw
    return Release(**args)


def observed(current: str | None = "releases/v3", release_dir: bool = True, active: str = "active",
             sha: str = SHA, releases: tuple[str, ...] = ("v3", "v2", "v1")) -> str:
    """What the probe prints; `current` None means no link."""
    lines = [f"current={current}" if current is not None else "current_type=absent",
             f"release_dir={'present' if release_dir else 'absent'}", f"active={active}"]
    lines += [f"release={r}" for r in releases] + [f"sha256:release.env={sha}"]
    return "\n".join(lines) + "\n"


def script_args(step_actions: tuple[Any, ...]) -> tuple[str, ...]:
    """The positional arguments of the deploy script (after `sh -c SCRIPT sh`)."""
    run = step_actions[-1]
    assert isinstance(run, Run) and run.argv[:2] == ("sh", "-c") and run.argv[3] == "sh"
    return run.argv[4:]


CONVERGED = [
    ({}, observed()),
    ({}, observed(current="/srv/shop/releases/v3")),  # an absolute link is as good
    ({"keep": 2}, observed(releases=("v3", "v2"))),
    ({"files": {}}, observed(sha="absent")),
]


@pytest.mark.parametrize(("kw", "text"), CONVERGED)
def test_converged_release_is_ok(kw: dict[str, Any], text: str) -> None:
    assert decide(release(**kw), text).status == "ok"


# (arguments, observed, summary, kinds of the actions, script arguments)
CHANGES = [
    ({}, observed(current=None, release_dir=False, active="inactive", sha="absent", releases=()),
     "deploy shop v3", ["mkdir", "upload", "sh"], ("/srv/shop", "v3", "shop", URL, "30", "1")),
    ({}, observed(current="releases/v2", release_dir=False, sha="absent", releases=("v2", "v1")),
     "deploy shop v3 (current: v2)", ["mkdir", "upload", "sh"], ("/srv/shop", "v3", "shop", URL, "30", "1")),
    ({}, observed(current="releases/v2", releases=("v2", "v1", "v0")),
     "deploy shop v3 (current: v2)", ["sh"], ("/srv/shop", "v3", "shop", URL, "30", "1", "v0")),
    ({"keep": 1, "timeout": 5}, observed(current="releases/v2", releases=("v3", "v2", "v1")),
     "deploy shop v3 (current: v2)", ["sh"], ("/srv/shop", "v3", "shop", URL, "5", "1", "v2", "v1")),
    ({}, observed(sha="0" * 64),
     "update 1 files of shop v3 and restart shop", ["upload", "sh"], ("/srv/shop", "v3", "shop", URL, "30", "0")),
    ({}, observed(active="failed"),
     "start shop (failed) and check its health", ["sh"], ("/srv/shop", "v3", "shop", URL, "30", "0")),
    ({"files": {"conf/app.ini": "x\n"}}, observed(release_dir=False),
     "update 1 files of shop v3 and restart shop", ["mkdir", "upload", "sh"],
     ("/srv/shop", "v3", "shop", URL, "30", "0")),
    ({"restart": True}, observed(), "restart shop and check its health", ["sh"],
     ("/srv/shop", "v3", "shop", URL, "30", "0")),
]


def kind(action: Any) -> str:
    return "upload" if isinstance(action, Upload) else action.argv[0]


@pytest.mark.parametrize(("kw", "text", "summary", "kinds", "args"), CHANGES)
def test_plan_actions(kw: dict[str, Any], text: str, summary: str, kinds: list[str], args: tuple[str, ...]) -> None:
    step = decide(release(**kw), text)
    assert (step.status, step.summary) == ("change", summary)
    assert [kind(a) for a in step.actions] == kinds
    assert script_args(step.actions) == args


def test_uploads_go_into_the_release_directory_atomically() -> None:
    step = decide(release(files={"conf/app.ini": "x\n"}), observed(release_dir=False))
    mkdir, upload = step.actions[0], step.actions[1]
    assert isinstance(mkdir, Run) and mkdir.argv == ("mkdir", "-p", "-m", "0755", "--", "/srv/shop/releases/v3",
                                                     "/srv/shop/releases/v3/conf")
    assert upload == Upload("/srv/shop/releases/v3/conf/app.ini", b"x\n", "0644")


def test_converged_but_too_many_releases_prunes_the_oldest() -> None:
    step = decide(release(keep=2), observed(releases=("v3", "v2", "v1", "v0", "bad name")))
    assert (step.status, step.kind) == ("change", "remove")
    assert step.actions == (Run(("rm", "-rf", "--", "/srv/shop/releases/v1", "/srv/shop/releases/v0"),
                                at="/srv/shop/releases/v1"),)


@pytest.mark.parametrize("text", ["", "current_type=other\n", "active=active\n"])
def test_unreadable_or_foreign_state_is_unknown(text: str) -> None:
    assert decide(release(), text).status == "unknown"


@pytest.mark.parametrize(("kw", "problem"), [
    ({"version": "../v1"}, "version"), ({"version": ".hidden"}, "version"), ({"root": "srv"}, "root"),
    ({"root": "/"}, "root"), ({"service": "a b"}, "service"), ({"health_url": "localhost"}, "health_url"),
    ({"files": {"../x": ""}}, "files"), ({"files": {"a=b": ""}}, "files"), ({"keep": 0}, "keep"),
])
def test_validate_rejects(kw: dict[str, Any], problem: str) -> None:
    assert any(problem in p for p in release(**kw).validate())
    assert release().validate() == []


# --- the probe and the deploy script, run against a temporary tree with a stand-in systemctl ---

FAKE_SYSTEMCTL = """#!/bin/sh
echo "$*" >> "$SYSTEMCTL_LOG"
case $1 in show) echo no ;; is-active) echo active ;; esac
"""


class Health(http.server.BaseHTTPRequestHandler):
    """Answers 200 when the release `current` points at has a `healthy` file, else 500."""

    root: Path

    def do_GET(self) -> None:
        self.send_response(200 if (self.root / "current" / "healthy").exists() else 500)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], str]]:
    """ROOT with releases v1 (healthy, current), v2 (healthy), bad (not); env with a fake systemctl."""
    root = tmp_path / "srv"
    for name, healthy in (("v1", True), ("v2", True), ("bad", False)):
        (root / "releases" / name).mkdir(parents=True)
        if healthy:
            (root / "releases" / name / "healthy").write_text("")
    os.symlink("releases/v1", root / "current")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text(FAKE_SYSTEMCTL)
    (bin_dir / "systemctl").chmod(0o755)
    handler = type("H", (Health,), {"root": root})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "SYSTEMCTL_LOG": str(tmp_path / "systemctl.log")}
    yield root, env, f"http://127.0.0.1:{server.server_address[1]}/healthz"
    server.shutdown()


def run_step(resource: Release, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    probe = subprocess.run(["sh", "-c", resource.probe()], capture_output=True, text=True, env=env, check=True)
    step = decide(resource, probe.stdout)
    assert step.status == "change", step
    last: subprocess.CompletedProcess[str] | None = None
    for action in step.actions:
        assert isinstance(action, Run), action  # no `files` here, so no uploads
        last = subprocess.run(list(action.argv), capture_output=True, text=True, env=env, timeout=30)
        if last.returncode:
            break
    assert last is not None
    return last


def test_script_switches_to_a_healthy_release_and_prunes(tree: tuple[Path, dict[str, str], str]) -> None:
    root, env, url = tree
    done = run_step(Release("app", "v2", str(root), "app", url, keep=1, timeout=2), env)
    assert done.returncode == 0, done.stderr
    assert os.readlink(root / "current") == "releases/v2"
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["v2"]
    log = (root / "deploy.log").read_text()
    assert "switch releases/v1 -> releases/v2" in log and "healthy releases/v2" in log
    current = Release("app", "v2", str(root), "app", url, keep=1)
    assert decide(current, subprocess.run(["sh", "-c", current.probe()],
                                          capture_output=True, text=True, env=env).stdout).status == "ok"


def test_script_rolls_back_an_unhealthy_release(tree: tuple[Path, dict[str, str], str]) -> None:
    root, env, url = tree
    done = run_step(Release("app", "bad", str(root), "app", url, keep=1, timeout=1), env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"health check failed for bad ({url} HTTP 500), rolled back to v1")
    assert os.readlink(root / "current") == "releases/v1"
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["bad", "v1", "v2"]  # nothing pruned
    assert (root / "releases" / "bad").stat().st_mtime == 0  # first in line for pruning
    assert Path(env["SYSTEMCTL_LOG"]).read_text().count("restart -- app") == 2


def test_script_without_a_previous_release_stops_the_service(tree: tuple[Path, dict[str, str], str]) -> None:
    root, env, url = tree
    (root / "current").unlink()
    done = run_step(Release("app", "bad", str(root), "app", url, timeout=1), env)
    assert done.returncode == 1
    assert "no previous release to roll back to: stopped app" in done.stderr
    assert not (root / "current").is_symlink()
    assert "stop -- app" in Path(env["SYSTEMCTL_LOG"]).read_text()
