"""archive: plan from probe text; the unpack script runs for real here on good and hostile archives."""

from __future__ import annotations

import io
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from configurator.engine.actions import Run
from configurator.resources.archive import MARKER, SCRIPT, Archive
from configurator.resources.base import decide

SUM = "c" * 64
ARCHIVE = Archive("/var/cache/app.tar.gz", "/opt/app", owner="app")


@pytest.mark.parametrize(("text", "status", "summary"), [
    (f"archive={SUM}\ndest=directory\nowner=app:app\nmarker={SUM}\n", "ok", "unpacked from sha256 cccccccccccc"),
    (f"archive={SUM}\ndest=directory\nowner=app:app\nmarker={'d' * 64}\n", "change", "unpack /var/cache/app.tar.gz"),
    (f"archive={SUM}\ndest=directory\nowner=root:root\nmarker={SUM}\n", "change", "into /opt/app"),
    (f"archive={SUM}\ndest=absent\n", "change", "(sha256 cccccccccccc) into /opt/app"),
    ("archive=absent\ndest=absent\n", "change", "(not there yet)"),
    (f"archive={SUM}\ndest=directory\nowner=app:app\nempty=1\n", "change", "unpack"),
    (f"archive={SUM}\ndest=directory\nowner=app:app\n", "unknown", "holds files that were not unpacked here"),
    (f"archive={SUM}\ndest=other\n", "unknown", "exists and is not a directory"),
])
def test_plan(text: str, status: str, summary: str) -> None:
    step = decide(ARCHIVE, text)
    assert step.status == status and summary in step.summary, step.summary
    if status == "change":
        assert step.actions == (Run(("sh", "-c", SCRIPT, "sh", "/var/cache/app.tar.gz", "/opt/app", "tar", "0",
                                     "app", ""), timeout=1800, at="/opt/app"),)


@pytest.mark.parametrize(("resource", "problem"), [
    (Archive("/a.zip", "/opt/x"), ""),
    (Archive("/a.tgz", "/opt"), "at least two levels deep"),
    (Archive("/a.tgz", "/opt/../etc"), "must not hold . or .."),
    (Archive("/a.zip", "/opt/x", strip_components=1), "0 for a zip"),
])
def test_validate(resource: Archive, problem: str) -> None:
    problems = resource.validate()
    assert (problem in problems[0]) if problem else problems == []


def tar(path: Path, members: list[tuple[str, str]], mode: str = "w:gz") -> Path:
    """A tar of (name, kind:value) members: `file:TEXT`, `dir:`, `link:TARGET`, `hard:TARGET`, `fifo:`."""
    with tarfile.open(path, mode) as out:
        for name, spec in members:
            kind, _, value = spec.partition(":")
            info = tarfile.TarInfo(name)
            info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "link": tarfile.SYMTYPE,
                         "hard": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            data = value.encode() if kind == "file" else b""
            info.size, info.linkname = len(data), value if kind in ("link", "hard") else ""
            out.addfile(info, io.BytesIO(data))
    return path


def unpack(archive: Path, dest: Path, strip: int = 0, kind: str = "tar") -> subprocess.CompletedProcess[str]:
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    return subprocess.run(["sh", "-c", SCRIPT, "sh", str(archive), str(dest), kind, str(strip), user, ""],
                          capture_output=True, text=True, check=False, timeout=60)


def test_a_good_archive_is_unpacked_with_its_marker_and_replaces_the_old_content(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    first = tar(tmp_path / "a.tar.xz", [("app-1/", "dir:"), ("app-1/bin/run", "file:hi"),
                                         ("app-1/bin/alias", "link:run"), ("app-1/lib", "link:bin/../bin")], "w:xz")
    done = unpack(first, dest, strip=1)
    assert done.returncode == 0, done.stderr
    assert (dest / "bin/run").read_text() == "hi" and (dest / "bin/alias").resolve() == dest / "bin/run"
    assert len((dest / MARKER).read_text().strip()) == 64
    second = tar(tmp_path / "b.tar.gz", [("new", "file:x")])
    assert unpack(second, dest).returncode == 0
    assert sorted(p.name for p in dest.iterdir()) == [MARKER, "new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar.xz", "b.tar.gz", "dest"]  # nothing left beside


@pytest.mark.parametrize(("members", "why"), [
    ([("../evil", "file:x")], "../evil: an absolute name or a .. component"),
    ([("a/../../evil", "file:x")], "an absolute name or a .. component"),
    ([("/etc/evil", "file:x")], "/etc/evil: an absolute name"),
    ([("l", "link:/etc")], "l -> /etc: an absolute target"),
    ([("l", "link:..")], "l -> ..: a target outside the destination"),
    ([("a/", "dir:"), ("a/l", "link:../../etc")], "a target outside the destination"),
    ([("s", "link:."), ("s/t", "link:../x")], "s/t: inside the symlink s"),
    ([("s", "link:."), ("t", "link:s/..")], "t -> s/..: a target through the symlink s"),
    ([("l", "link:sub"), ("l/x", "file:x")], "l/x: inside the symlink l"),
    ([("h", "hard:../etc/passwd")], "h: a hard link to ../etc/passwd"),
    ([("f", "fifo:")], "f: not a file, directory or link"),
    ([("a -> b", "link:c")], "its name or target cannot be told apart"),
])
def test_hostile_members_are_refused_before_anything_is_written(tmp_path: Path, members, why: str) -> None:
    dest = tmp_path / "dest"
    done = unpack(tar(tmp_path / "bad.tar.gz", [("ok", "file:fine"), *members]), dest)
    assert done.returncode == 1 and why in done.stderr, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tar.gz"]  # no dest, no temp directory


def test_names_with_spaces_and_links_inside_are_fine(tmp_path: Path) -> None:
    archive = tar(tmp_path / "s.tar.gz", [("my dir/", "dir:"), ("my dir/a file", "file:x"),
                                          ("my dir/link to it", "link:a file")])
    assert unpack(archive, tmp_path / "dest").returncode == 0
    assert (tmp_path / "dest/my dir/link to it").read_text() == "x"


def test_stripping_is_checked_on_the_names_tar_will_write(tmp_path: Path) -> None:
    archive = tar(tmp_path / "s.tar.gz", [("top/", "dir:"), ("top/l", "link:../x")])
    assert unpack(archive, tmp_path / "whole").returncode == 0  # top/l -> x: inside
    done = unpack(archive, tmp_path / "stripped", strip=1)  # l -> ../x: outside
    assert done.returncode == 1 and "a target outside the destination" in done.stderr


def zipped(path: Path, names: list[str], link: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as out:
        for name in names:
            out.writestr(name, "x")
        if link:
            info = zipfile.ZipInfo("link")
            info.external_attr = 0o120777 << 16
            out.writestr(info, link)
    return path


def test_zip_archives(tmp_path: Path) -> None:
    assert unpack(zipped(tmp_path / "a.zip", ["a/b", "c"]), tmp_path / "ok", kind="zip").returncode == 0
    assert (tmp_path / "ok/a/b").read_text() == "x"
    bad = unpack(zipped(tmp_path / "b.zip", ["c", "../evil"]), tmp_path / "bad", kind="zip")
    assert bad.returncode == 1 and "../evil: an absolute name or a .. component" in bad.stderr
    linked = unpack(zipped(tmp_path / "l.zip", ["c"], link="/etc"), tmp_path / "linked", kind="zip")
    assert linked.returncode == 1 and "it holds symlinks" in linked.stderr
    assert not (tmp_path / "bad").exists() and not (tmp_path / "linked").exists()
