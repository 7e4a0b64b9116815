"""Line: observed file text in, the edited content (one Upload) out; the probe runs for real."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest

from configurator.engine.actions import Upload
from configurator.resources.base import decide
from configurator.resources.line import Line
from configurator.resources.textfile import MAX_SIZE

P = "/etc/t.conf"


def observed(content: bytes | None, mode: str = "644", owner: str = "root", group: str = "root") -> str:
    """What the probe prints for a regular file with `content` (None: missing)."""
    if content is None:
        return "type=absent\n"
    b64 = base64.b64encode(content).decode()
    return f"type=file\nmode={mode}\nowner={owner}\ngroup={group}\nsize={len(content)}\ncontent_b64={b64}\n"


def run_probe(resource: Line) -> str:
    result = subprocess.run(["sh", "-c", resource.probe()], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, check=True)
    return result.stdout


# (arguments, content before, content after or None when already converged, summary)
EDITS = [
    ({"line": "x"}, b"a\nx\nb\n", None, ""),
    ({"line": "x"}, b"x\na\nx\n", None, ""),
    ({"line": "x"}, b"a\nb\n", b"a\nb\nx\n", "add line 3 to /etc/t.conf"),
    ({"line": "x"}, b"a", b"a\nx\n", "add line 2 to /etc/t.conf"),
    ({"line": "x"}, b"", b"x\n", "add line 1 to /etc/t.conf"),
    ({"line": "x"}, b"a\nx \n", b"a\nx \nx\n", "add line 3 to /etc/t.conf"),
    ({"line": "Port 22", "regexp": "^#?Port "}, b"Port 1\n#c\n#Port 2\n", b"Port 1\n#c\nPort 22\n",
     "replace line 3 of /etc/t.conf"),
    ({"line": "Port 22", "regexp": "^#?Port "}, b"#Port 2\nPort 22\n", None, ""),
    ({"line": "Port 22", "regexp": "^#?Port "}, b"Port 22\nPort 22\n", None, ""),
    ({"line": "Port 22", "regexp": "^#?Port "}, b"a\n", b"a\nPort 22\n", "add line 2 to /etc/t.conf"),
    ({"line": "Port 22", "regexp": "^Port 1$"}, b"Port 22\n", None, ""),  # regexp misses, line there
    ({"line": "x", "insertafter": r"^\[main\]"}, b"[main]\na\n[main]\nb\n", b"[main]\na\n[main]\nx\nb\n",
     "add line 4 to /etc/t.conf"),
    ({"line": "x", "insertafter": "^nomatch"}, b"a\nb\n", b"a\nb\nx\n", "add line 3 to /etc/t.conf"),
    ({"line": "x", "insertafter": "EOF"}, b"a\n", b"a\nx\n", "add line 2 to /etc/t.conf"),
    ({"line": "x", "insertbefore": "BOF"}, b"a\nb\n", b"x\na\nb\n", "add line 1 to /etc/t.conf"),
    ({"line": "x", "insertbefore": "^b"}, b"a\nb\nc\nb\n", b"a\nb\nc\nx\nb\n", "add line 4 to /etc/t.conf"),
    ({"line": "x", "insertbefore": "^zz"}, b"a\n", b"a\nx\n", "add line 2 to /etc/t.conf"),
    ({"line": "k=2", "regexp": "^k=", "insertbefore": "BOF"}, b"a\nk=1\n", b"a\nk=2\n",
     "replace line 2 of /etc/t.conf"),
    ({"line": "y"}, b"\xff\xfe\nx\n", b"\xff\xfe\nx\ny\n", "add line 3 to /etc/t.conf"),
    ({"line": "x", "state": "absent"}, b"x\na\nx\n", b"a\n", "remove 2 lines from /etc/t.conf"),
    ({"line": "x", "state": "absent"}, b"a\nx\n", b"a\n", "remove 1 line from /etc/t.conf"),
    ({"line": "x", "state": "absent"}, b"a\nxx\n", None, ""),
    ({"regexp": "^#", "state": "absent"}, b"#a\nb\n#c", b"b\n", "remove 2 lines from /etc/t.conf"),
    ({"line": "x", "regexp": "^y", "state": "absent"}, b"x\ny1\nz\n", b"z\n",
     "remove 2 lines from /etc/t.conf"),
]


@pytest.mark.parametrize(("args", "before", "after", "summary"), EDITS)
def test_plan_edits(args: dict[str, str], before: bytes, after: bytes | None, summary: str) -> None:
    step = decide(Line(P, **args), observed(before))
    if after is None:
        assert (step.status, step.actions) == ("ok", ())
        return
    assert (step.status, step.summary, step.kind) == ("change", summary, "modify")
    assert step.actions == (Upload(P, after, "0644", "root", "root"),)


def test_plan_keeps_observed_metadata_and_shows_a_diff() -> None:
    step = decide(Line(P, line="Port 22", regexp="^Port "), observed(b"Port 1\n", "4750", "www-data", "adm"))
    assert step.actions == (Upload(P, b"Port 22\n", "4750", "www-data", "adm"),)
    assert "-Port 1\n" in step.diff and "+Port 22\n" in step.diff


@pytest.mark.parametrize(("args", "status", "text"), [
    ({"line": "x"}, "unknown", "does not exist (set create: true to create it)"),
    ({"line": "x", "state": "absent"}, "ok", "does not exist"),
    ({"regexp": "x", "state": "absent", "create": True}, "ok", "does not exist"),
])
def test_plan_missing_file(args: dict[str, str], status: str, text: str) -> None:
    step = decide(Line(P, **args), "type=absent\n")
    assert step.status == status and text in step.summary and step.actions == ()


def test_plan_missing_file_created_when_asked() -> None:
    step = decide(Line(P, line="x", regexp="^x", create=True), "type=absent\n")
    assert (step.status, step.kind) == ("change", "create")
    assert step.actions == (Upload(P, b"x\n", "0644", "", ""),)
    assert "+x\n" in step.diff


@pytest.mark.parametrize(("text", "message"), [
    ("type=link\n", "symlink"),
    ("type=other\n", "not a regular file"),
    ("", "not described"),
    ("type=file\nmode=644\nowner=root\ngroup=root\nsize=2000000\ntoo_large=1\n", "larger than"),
    ("type=file\nmode=644\nowner=root\ngroup=root\nsize=3\nunreadable=1\n", "could not be read"),
    ("type=file\nmode=644\nowner=root\ngroup=root\nsize=9\ncontent_b64=YQo=\n", "could not be read"),
    ("type=file\nmode=644\nowner=root\ngroup=root\nsize=2\ncontent_b64=%%%\n", "could not be read"),
])
def test_plan_unknown(text: str, message: str) -> None:
    step = decide(Line(P, line="x"), text)
    assert step.status == "unknown" and message in step.summary and step.actions == ()


@pytest.mark.parametrize(("args", "problem"), [
    ({"path": "etc/x", "line": "a"}, "absolute"),
    ({"line": "a\nb"}, "single line"),
    ({"regexp": "^a"}, "state present needs `line`"),
    ({"state": "absent"}, "needs `line` or `regexp`"),
    ({"line": "a", "regexp": "("}, "regexp '(' is not a valid regular expression"),
    ({"line": "a", "insertafter": "[z"}, "insertafter"),
    ({"line": "a", "insertafter": "EOF", "insertbefore": "BOF"}, "either insertafter or insertbefore"),
])
def test_validate_problems(args: dict[str, str], problem: str) -> None:
    problems = Line(**{"path": P, **args}).validate()
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize("args", [
    {"line": "a"}, {"line": "a", "regexp": "^a", "insertbefore": "BOF"},
    {"regexp": "^#", "state": "absent"}, {"line": "", "insertafter": "EOF"},
])
def test_validate_accepts(args: dict[str, str]) -> None:
    assert Line(P, **args).validate() == []


def test_probe_is_valid_sh() -> None:
    subprocess.run(["sh", "-n", "-c", Line("/a b/'c'$(x)", line="x").probe()], check=True)


# The probe on a real file, its output fed to plan, the Upload written, probed again: converged.
@pytest.mark.parametrize(("args", "before", "after"), [
    ({"line": "x"}, b"a", b"a\nx\n"),
    ({"line": "Port 22", "regexp": "^#?Port "}, b"#Port 1\nb\n", b"Port 22\nb\n"),
    ({"line": "x", "state": "absent"}, b"x\n\xff\nx\n", b"\xff\n"),
    ({"line": "x"}, b"", b"x\n"),
])
def test_probe_and_plan_agree_on_a_real_file(tmp_path: Path, args: dict[str, str], before: bytes,
                                             after: bytes) -> None:
    path = tmp_path / "it's a file"
    path.write_bytes(before)
    path.chmod(0o640)
    resource = Line(str(path), **args)
    step = decide(resource, run_probe(resource))
    assert step.status == "change"
    upload = step.actions[0]
    assert isinstance(upload, Upload) and upload.content == after and upload.mode == "0640"
    path.write_bytes(upload.content)
    assert decide(resource, run_probe(resource)).status == "ok"


def test_probe_real_missing_link_directory_and_large(tmp_path: Path) -> None:
    os.symlink("/etc/hostname", tmp_path / "link")
    (tmp_path / "big").write_bytes(b"a\n" * (MAX_SIZE // 2 + 1))
    for name, message in (("link", "symlink"), ("", "not a regular file"), ("big", "larger than"),
                          ("nope", "does not exist")):
        resource = Line(str(tmp_path / name) if name else str(tmp_path), line="x")
        step = decide(resource, run_probe(resource))
        assert step.status == "unknown" and message in step.summary


def test_checks_on_the_local_host(tmp_path: Path) -> None:
    testinfra = pytest.importorskip("testinfra")
    host = testinfra.get_host("local://")
    path = tmp_path / "f"
    path.write_bytes(b"a\n#b\n")
    present, absent = Line(str(path), line="a"), Line(str(path), regexp="^#", state="absent")
    present.checks()[0].test(host)
    with pytest.raises(AssertionError, match="still contains '#b'"):
        absent.checks()[0].test(host)
    path.write_bytes(b"c\n")
    absent.checks()[0].test(host)
    with pytest.raises(AssertionError, match="does not contain the line 'a'"):
        present.checks()[0].test(host)
    Line(str(tmp_path / "gone"), line="a", state="absent").checks()[0].test(host)


# The batched probe's output: each distinct path's text after a marker line (here `--file`), in order of first use.
HOSTS = observed(b"127.0.0.1 localhost\n")


@pytest.mark.parametrize(("paths", "text", "expected"), [
    (["/etc/hosts", "/etc/hosts"], f"--file\n{HOSTS}", [HOSTS, HOSTS]),
    (["/etc/a", "/etc/hosts", "/etc/a"], f"--file\ntype=absent\n--file\n{HOSTS}",
     ["type=absent\n", HOSTS, "type=absent\n"]),
    (["/etc/a", "/etc/hosts"], "--file\ntype=absent\n", ["", ""]),  # cut short: unknown, never wrong
    (["/etc/a"], "type=absent\n--file\ntype=absent\n", [""]),
    (["/etc/a"], "", [""]),
])
def test_batch_parse(paths: list[str], text: str, expected: list[str]) -> None:
    lines = [Line(p, line="x") for p in paths]
    assert Line.batch_parse(lines, text, "--file") == [line.parse(e) for line, e in zip(lines, expected, strict=True)]


def test_batched_and_one_by_one_probes_agree_on_real_files(tmp_path: Path) -> None:
    os.symlink("/etc/hostname", tmp_path / "link")
    (tmp_path / "big").write_bytes(b"a\n" * (MAX_SIZE // 2 + 1))
    (tmp_path / "it's $(a) file").write_bytes(b"a\nx\n")
    (tmp_path / "empty").write_bytes(b"")
    names = ["link", "big", "it's $(a) file", "empty", "nope", "", "big", "empty"]
    lines = [Line(str(tmp_path / n) if n else str(tmp_path), line=f"x{i}") for i, n in enumerate(names)]
    script = Line.batch_probe(lines, "--file")
    assert script.count("--file") == 1 and script.count(str(tmp_path / "big")) == 1
    batch = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert Line.batch_parse(lines, batch.stdout, "--file") == [line.parse(run_probe(line)) for line in lines]
