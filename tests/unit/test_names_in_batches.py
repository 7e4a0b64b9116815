"""Odd path and entry names in batched probes: line separators, forged markers, `|` and prefixes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from configurator.engine import probe
from configurator.errors import InputError
from configurator.resources import accounts
from configurator.resources.base import field_lines
from configurator.resources.file import Directory, File, parse_stat_many, parse_sums
from configurator.resources.line import Line
from configurator.resources.schema import build
from configurator.resources.user import User, UserState

# every character str.splitlines splits on, apart from "\n" (refused in paths by the schema)
SPLITTERS = ["\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
ODD_NAMES = [f"a{c}b" for c in SPLITTERS] + ["--sums", "x|y", "pre", "prefix", "back\\slash", "sp ace"]


def observe(resources: list, batch: bool = True) -> list[str]:
    """Each resource's observed text from one probe script run here."""
    # bytes, decoded as the transport does: text=True would turn "\r" into "\n" (universal newlines)
    out = subprocess.run(["sh", "-c", probe.script(resources, "tok", facts=probe.Facts.NONE, batch=batch)],
                         capture_output=True, check=True).stdout.decode("utf-8", errors="replace")
    return list(probe.parse(out, "tok", resources, batch=batch).states)


def statuses(resources: list, batch: bool = True) -> list[str]:
    return [r.plan(seen).status for r, seen in zip(resources, observe(resources, batch), strict=True)]


def test_files_with_odd_names_converge_in_the_batched_probe(tmp_path: Path) -> None:
    for name in ODD_NAMES:
        (tmp_path / name).write_bytes(b"right\n")
    resources = [File(str(tmp_path / name), b"right\n", mode="0644") for name in ODD_NAMES]
    for path in (tmp_path / n for n in ODD_NAMES):
        path.chmod(0o644)
    assert statuses(resources) == ["ok"] * len(ODD_NAMES)
    assert statuses(resources, batch=False) == ["ok"] * len(ODD_NAMES)


def test_a_file_named_like_the_separator_does_not_shift_the_files_after_it(tmp_path: Path) -> None:
    (tmp_path / "--sums").write_bytes(b"x\n")
    (tmp_path / "stale").write_bytes(b"old\n")
    (tmp_path / "fine").write_bytes(b"x\n")
    resources = [File(str(tmp_path / "--sums"), b"x\n"), File(str(tmp_path / "stale"), b"new\n"),
                 File(str(tmp_path / "fine"), b"x\n"), File(str(tmp_path / "missing"), b"x\n")]
    steps = [r.plan(seen) for r, seen in zip(resources, observe(resources), strict=True)]
    assert [(s.status, s.kind) for s in steps] == [("ok", ""), ("change", "modify"), ("ok", ""),
                                                    ("change", "create")]


def test_directories_with_a_bar_and_a_shared_prefix(tmp_path: Path) -> None:
    for name in ("d|1", "d", "d|1|2"):
        (tmp_path / name).mkdir(mode=0o750)
        (tmp_path / name).chmod(0o750)
    resources = [Directory(str(tmp_path / n), mode="0750") for n in ("d|1", "d", "d|1|2", "d|")]
    assert statuses(resources) == ["ok", "ok", "ok", "change"]


@pytest.mark.parametrize("text, expected", [
    ("regular file|644|root|root|/a\rb\0directory|755|bin|adm|/x|y|z\0",
     {"/a\rb": {"type": "regular file", "mode": "644", "owner": "root", "group": "root"},
      "/x|y|z": {"type": "directory", "mode": "755", "owner": "bin", "group": "adm"}}),
    ("symbolic link|777|root|root|/l\u2028m\0", {"/l\u2028m": {"type": "link", "mode": "777", "owner": "root",
                                                              "group": "root"}}),
    ("regular file|644|root|root|/cut", {}),  # a record without its terminator was cut short
    ("", {}),
])
def test_stat_records_as_data(text: str, expected: dict[str, dict[str, str]]) -> None:
    assert parse_stat_many(text) == expected


def test_sums_as_data_names_are_not_escaped_or_split() -> None:
    digest = "0" * 64
    text = f"{digest}  /a\rb\0{digest}  /c\\d\0{digest}  /e\x1cf\0{digest}  /two  spaces\0"
    assert parse_sums(text) == {"/a\rb": digest, "/c\\d": digest, "/e\x1cf": digest, "/two  spaces": digest}


def test_file_batch_parse_only_trusts_the_runs_own_marker() -> None:
    files = [File("/--sums"), File("/stale")]
    forged = "regular file|644|root|root|/--sums\0regular file|644|root|root|/stale\0--sums\n"
    text = forged + "MARK\n" + f"{'1' * 64}  /--sums\0{'2' * 64}  /stale\0"
    assert [s.sha256 for s in File.batch_parse(files, text, "MARK")] == ["1" * 64, "2" * 64]


@pytest.mark.parametrize("splitter", SPLITTERS)
def test_field_lines_split_on_newline_only(splitter: str) -> None:
    assert field_lines(f"comment=a{splitter}b\nx=1\n") == {"comment": f"a{splitter}b", "x": "1"}


def test_getent_entries_with_line_separators_stay_whole() -> None:
    entry = "bob:x:1000:1000:Bob\u2028Smith\x1c:/home/bob:/bin/sh"
    found = accounts.results(f"{entry}\nMARK 0\n", "MARK")
    assert found == [([entry], "0")]
    assert accounts.matched(["bob"], found) == [accounts.Lookup(entry)]


def test_user_and_line_batches_ignore_forged_separators() -> None:
    users = [User("bob")]
    text = "bob:x:1000:1000::/home/bob:/bin/sh\n--rc 5\nMARK 0\nMARK:groups\nbob : --id\u2028 bob wheel\n"
    state = User.batch_parse(users, text, "MARK")[0]
    assert isinstance(state, UserState)
    assert (state.primary, state.groups) == ("--id\u2028", ("--id", "bob", "wheel"))  # as plan splits them
    lines = [Line("/a", line="x"), Line("/b", line="y")]
    assert Line.batch_parse(lines, "MARK\ntype=absent\n--file\nMARK\ntype=absent\n", "MARK") == [
        lines[0].parse("type=absent\n--file\n"), lines[1].parse("type=absent\n")]


def test_each_batch_gets_a_marker_made_from_the_runs_token() -> None:
    script = probe.script([File("/a"), Line("/b", line="x"), User("bob")], "f00d", facts=probe.Facts.NONE)
    assert "--sums" not in script and "--file" not in script and "--rc" not in script and "--id" not in script
    assert script.count("@@f00d:") >= 3


@pytest.mark.parametrize("kind", ["file", "directory", "line"])
def test_a_newline_in_a_path_is_bad_input(kind: str) -> None:
    from configurator.resources import type_named

    args = {"path": "/etc/a\nb", **({"line": "x"} if kind == "line" else {})}
    with pytest.raises(InputError, match="on one line"):
        build(type_named(kind), args, None, kind)  # type: ignore[arg-type]
