"""download: plan from probe text; the fetch script and the controller's cache run for real on files here."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from configurator.engine.actions import Run, Upload
from configurator.resources.base import decide
from configurator.resources.download import FETCH, SUM_CHECK, Download, cache_dir

DATA = b"release 1.2\n"
SUM = hashlib.sha256(DATA).hexdigest()
URL = "http://198.18.0.38/app.tar.gz"


def stat(sha256: str = "", kind: str = "regular file", owner: str = "root") -> str:
    return f"type={kind}\nmode=644\nowner={owner}\ngroup=root\nsha256={sha256}\n"


@pytest.mark.parametrize(("text", "status", "summary"), [
    (stat(SUM), "ok", f"sha256 {SUM[:12]}"),
    (stat(SUM, owner="app"), "change", "owner app:root -> root:root"),
    ("type=absent\n", "change", f"download {URL} (target)"),
    (stat("0" * 64), "change", f"replace /opt/app.tgz (sha256 000000000000) with {URL}"),
    ("type=directory\nmode=755\nowner=root\ngroup=root\n", "unknown", "is a directory"),
    ("type=link\n", "unknown", "is a link"),
])
def test_plan(text: str, status: str, summary: str) -> None:
    step = decide(Download(URL, "/opt/app.tgz", SUM, owner="root", group="root"), text)
    assert step.status == status and summary in step.summary, step.summary


def test_via_target_fetches_on_the_host() -> None:
    step = decide(Download(URL, "/opt/app.tgz", SUM, owner="app"), "type=absent\n")
    assert step.actions == (Run(("sh", "-c", FETCH, "sh", URL, "/opt/app.tgz", SUM, "0644", "app", "", "600"),
                                timeout=660, at="/opt/app.tgz"),)


def test_via_controller_uploads_the_cached_copy_and_checks_it_on_the_host(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    step = decide(Download(URL, "/opt/app.tgz", SUM, via="controller"), "type=absent\n")
    upload = step.actions[0]
    assert isinstance(upload, Upload) and upload.source == str(tmp_path / "cache/configurator/downloads" / SUM)
    assert upload.validate == ("sh", "-c", SUM_CHECK, "sh", "%s", SUM)


def test_the_controller_fetches_once_into_its_cache_and_refuses_a_wrong_checksum(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "app.tgz"
    source.write_bytes(DATA)
    good = Download(source.as_uri(), "/opt/app.tgz", SUM, via="controller")
    assert good.validate() == []
    assert (cache_dir() / SUM).read_bytes() == DATA
    source.unlink()
    assert good.validate() == []  # cached: not fetched again
    source.write_bytes(b"tampered\n")
    wrong = Download(source.as_uri(), "/opt/app.tgz", "1" * 64, via="controller")
    assert "has sha256" in wrong.validate()[0]
    assert sorted(p.name for p in cache_dir().iterdir()) == [SUM]  # nothing half-written is left


@pytest.mark.parametrize(("resource", "problem"), [
    (Download(URL, "/opt/a", "ABC"), "must be 64 lower-case hex digits"),
    (Download("ssh://x/y", "/opt/a", SUM), "must be an http(s)://"),
    (Download(URL, "/opt/a", SUM, timeout=0), "timeout must be positive"),
    (Download("file:///etc/shadow", "/opt/a", SUM), "file:// with via: controller"),
])
def test_validate(resource: Download, problem: str) -> None:
    assert problem in resource.validate()[0]


def fetch(tmp_path: Path, url: str, sha256: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", FETCH, "sh", url, str(tmp_path / "out"), sha256, "0640", "", "", "10"],
                          capture_output=True, text=True, check=False)


def test_the_fetch_keeps_only_the_right_content(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.write_bytes(DATA)
    (tmp_path / "out").write_bytes(b"old\n")
    bad = fetch(tmp_path, source.as_uri(), "1" * 64)
    assert bad.returncode == 1 and "not 1111" in bad.stderr
    assert (tmp_path / "out").read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]  # the temp file is gone
    assert fetch(tmp_path, source.as_uri(), SUM).returncode == 0
    assert (tmp_path / "out").read_bytes() == DATA and (tmp_path / "out").stat().st_mode & 0o777 == 0o640
