"""git: the probe runs for real against a local repository; plan decides from its text."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from configurator.engine.actions import Run
from configurator.resources.base import decide
from configurator.resources.git import SCRIPT, Git

A, B = "a" * 40, "b" * 40
URL = "git://198.18.0.38/app.git"


def observed(**fields: str) -> str:
    base = {"kind": "repo", "owner": "app:app", "head": A, "origin": URL}
    return "".join(f"{k}={v}\n" for k, v in {**base, **fields}.items())


@pytest.mark.parametrize(("resource", "text", "status", "summary"), [
    (Git(URL, "/srv/app", A, owner="app"), observed(local=A), "ok", f"{A} at aaaaaaaaaaaa"),
    (Git(URL, "/srv/app", B, owner="app"), observed(), "change", "check out " + B),
    (Git(URL, "/srv/app", "v1", owner="app"), observed(local=A), "ok", "v1 at aaaaaaaaaaaa"),
    (Git(URL, "/srv/app", "v1", owner="app"), observed(remote_tag=B), "change", "(tag bbbbbbbbbbbb)"),
    (Git(URL, "/srv/app", "main", owner="app"), observed(remote_branch=A), "ok", "main at aaaaaaaaaaaa"),
    (Git(URL, "/srv/app", "main", owner="app"), observed(remote_branch=B), "change", "(branch bbbbbbbbbbbb)"),
    (Git(URL, "/srv/app", "main", owner="app"), "kind=absent\nremote_branch=" + B, "change", "was nothing"),
    (Git(URL, "/srv/app", "main", owner="app"), observed(remote_branch=A, origin="git://old/app.git"),
     "change", "check out main"),
    (Git(URL, "/srv/app", "main", owner="app"), observed(remote_branch=B, dirty="1"), "unknown",
     "/srv/app has local changes (force: true discards them)"),
    (Git(URL, "/srv/app", "nope", owner="app"), observed(), "unknown", "has no branch or tag 'nope'"),
    (Git(URL, "/srv/app", "main", owner="app"), "kind=absent\nerror=git ls-remote: fatal: unable to connect\n",
     "unknown", "git ls-remote: fatal: unable to connect"),
    (Git(URL, "/srv/app", "main"), "kind=other\n", "unknown", "/srv/app exists and is not a git checkout"),
])
def test_plan(resource: Git, text: str, status: str, summary: str) -> None:
    step = decide(resource, text)
    assert step.status == status and summary in step.summary, step.summary


def test_a_change_of_owner_chowns_then_checks_out_as_the_owner() -> None:
    step = decide(Git(URL, "/srv/app", A, owner="web"), observed(local=A))
    assert step.actions == (
        Run(("chown", "-R", "--", "web:", "/srv/app"), at="/srv/app"),
        Run(("sh", "-c", SCRIPT, "sh", "/srv/app", URL, "commit", A, "web", "", "0"), timeout=1800, at="/srv/app"),
    )


@pytest.mark.parametrize(("resource", "problem"), [
    (Git(URL, "/srv/app", "v1.2"), ""),
    (Git(URL, "/", "v1.2"), "dest '/' must be an absolute path"),
    (Git(URL, "/srv/app", "../x"), "must be a branch, a tag or a full commit id"),
    (Git(URL, "/srv/app", "-x"), "must be a branch, a tag or a full commit id"),
    (Git("--upload-pack=x", "/srv/app", "main"), "must be a repository URL"),
])
def test_validate(resource: Git, problem: str) -> None:
    problems = resource.validate()
    assert (problem in problems[0]) if problem else problems == []


def git(*argv: str, cwd: Path) -> str:
    return subprocess.run(["git", *argv], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository with two commits, a tag v1 on the first and main on the second."""
    repo = tmp_path / "origin"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    for n in ("1", "2"):
        (repo / "f").write_text(n)
        git("add", "f", cwd=repo)
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", n, cwd=repo)
        if n == "1":
            git("tag", "v1", cwd=repo)
    return repo, git("rev-parse", "v1^{commit}", cwd=repo), git("rev-parse", "main", cwd=repo)


def probe(resource: Git) -> str:
    return subprocess.run(["sh", "-c", resource.probe()], capture_output=True, text=True, check=True).stdout


def apply(resource: Git, text: str) -> None:
    for action in decide(resource, text).actions:
        assert isinstance(action, Run)
        subprocess.run(action.argv, capture_output=True, text=True, check=True)


@pytest.mark.parametrize("version", ["main", "v1", "commit"])
def test_probe_and_script_converge_a_real_checkout(origin: tuple[Path, str, str], tmp_path: Path,
                                                   version: str) -> None:
    repo, tagged, head = origin
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    want = {"main": head, "v1": tagged, "commit": tagged}[version]
    resource = Git(str(repo), str(tmp_path / "co"), tagged if version == "commit" else version, owner=user)
    first = probe(resource)
    assert resource.parse(first).kind == "absent"
    apply(resource, first)
    assert git("rev-parse", "HEAD", cwd=tmp_path / "co") == want
    again = decide(resource, probe(resource))
    assert again.status == "ok", again.summary
    (tmp_path / "co" / "f").write_text("edited")
    assert decide(resource, probe(resource)).status == "unknown"


def test_an_empty_directory_is_a_place_to_check_out_into(origin: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, _, head = origin
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / "co").mkdir()  # made earlier, by a `directory` resource or as a mount point
    resource = Git(str(repo), str(tmp_path / "co"), "main", owner=user)
    apply(resource, probe(resource))
    assert git("rev-parse", "HEAD", cwd=tmp_path / "co") == head
