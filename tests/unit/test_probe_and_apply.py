"""The batched probe script and its parsing, step scripts, and the remote shell framing (no network)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from configurator.engine import hostpaths, probe
from configurator.engine.actions import Run, Upload, quote, snippet
from configurator.engine.converge import step_script
from configurator.resources.base import decide
from configurator.resources.block import Block
from configurator.resources.file import Directory, File
from configurator.resources.group import Group
from configurator.resources.line import Line
from configurator.resources.package import Package, merge_installs
from configurator.resources.service import Service
from configurator.resources.user import User


def run_sh(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)


def decisions(resources, batch):
    """(status, summary) of each resource from one probe script run here."""
    out = run_sh(probe.script(resources, "tok", facts=probe.Facts.NONE, batch=batch)).stdout
    seen = probe.parse(out, "tok", resources, batch=batch)
    return [(r.plan(s).status, r.plan(s).summary) for r, s in zip(resources, seen.states, strict=True)]


def test_probe_script_runs_and_parses_locally(tmp_path):
    target = tmp_path / "a b.txt"
    target.write_text("hello\n")
    resources = [File(str(target), b"hello\n"), Directory(str(tmp_path / "missing")), File(str(target), b"other\n")]
    done = run_sh(probe.script(resources, "tok"))
    assert done.returncode == 0, done.stderr
    seen = probe.parse(done.stdout, "tok", resources)
    assert seen.facts["pkg"] in ("apt", "none") and seen.facts["os_id"]
    steps = [r.plan(s) for r, s in zip(resources, seen.states, strict=True)]
    assert [s.status for s in steps] == ["ok", "change", "change"]
    assert steps[2].diff == "" and steps[2].needs_detail  # batched: no old content yet
    one_by_one = run_sh(probe.script(resources, "tok", facts=probe.Facts.NONE, batch=False)).stdout
    detail = resources[2].plan(probe.parse(one_by_one, "tok", resources, batch=False).states[2])
    assert "+other" in detail.diff and "-hello" in detail.diff


def test_probe_parse_rejects_missing_sections():
    with pytest.raises(ValueError, match="missing"):
        probe.parse("@@tok facts\nos_id=debian\n", "tok", [Package("a", version="1"), Package("b", version="1")])


def test_step_script_uploads_atomically_and_records_handlers(private_dir, monkeypatch):
    tmp_path = private_dir
    monkeypatch.setattr(probe, "PENDING", str(tmp_path / "pending"))
    path = tmp_path / "dir" / "f's.conf"
    path.parent.mkdir()
    script = step_script([Upload(str(path), b"x=1\n$(touch /tmp/pwned)\n", mode="0640",
                                 owner="", group="")], ["reload x"])
    script = script.replace("chown :", "true ")  # not root in unit tests: no chown
    script = script.replace(f"mkdir -m 0700 {hostpaths.STATE}", "true")
    done = run_sh(script)
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == b"x=1\n$(touch /tmp/pwned)\n"
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    assert (tmp_path / "pending").read_text() == "reload x\n"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_failed_validation_leaves_the_live_file(private_dir):
    tmp_path = private_dir
    live = tmp_path / "live.conf"
    live.write_text("old\n")
    action = Upload(str(live), b"new\n", owner="", group="", validate=("false", "%s"))
    done = run_sh(hostpaths.ACTOR + snippet(action, "t"))
    assert done.returncode != 0
    assert "validation refused" in done.stderr
    assert live.read_text() == "old\n" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("argv", [("echo", "a b"), ("echo", "$(id)"), ("echo", "'; rm -rf /"), ("echo", "-n", "é\n")])
def test_run_arguments_are_literal(argv):
    done = run_sh(snippet(Run(argv), "t"))
    assert done.stdout == subprocess.run(list(argv), capture_output=True, text=True, check=True).stdout


def test_secret_stdin_is_not_on_the_command_line():
    text = snippet(Run(("cat",), stdin=b"s3cret-value"), "t")
    assert "s3cret-value" not in text
    assert run_sh(text).stdout == "s3cret-value"


def test_package_installs_merge_into_one_transaction():
    a = decide(Package("nginx-light"), "status=\nlists_age=999999\n").actions
    b = decide(Package("tree"), "status=\nlists_age=999999\n").actions
    merged = merge_installs([*a, *b])
    assert Package.merges and Package.merge([*a, *b]) == merged
    assert len(merged) == 2  # one list update, one install
    assert merged[1].argv[-3:] == ("--", "nginx-light", "tree")  # type: ignore[union-attr]


def test_validator_gets_the_temp_file_inside_a_quoted_argument(private_dir):
    live = private_dir / "conf"
    action = Upload(str(live), b"ok\n", owner="", group="", validate=("sh", "-c", "grep -q ok %s"))
    done = run_sh(hostpaths.ACTOR + snippet(action, "t"))
    assert done.returncode == 0, done.stderr
    assert live.read_text() == "ok\n"


def test_batched_and_one_by_one_probes_decide_the_same(tmp_path):
    import os

    (tmp_path / "same").write_text("x\n")
    (tmp_path / "other").write_text("y\n")
    (tmp_path / "empty").write_text("")
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "same")
    (tmp_path / "back\\slash and space").write_text("x\n")
    os.mkfifo(tmp_path / "fifo")  # must never be read (it would block)
    os.chmod(tmp_path / "same", 0o600)
    names = ["same", "other", "empty", "dir", "link", "back\\slash and space", "fifo", "missing"]
    resources = [File(str(tmp_path / n), b"x\n", mode="0600") for n in names]
    resources += [Directory(str(tmp_path / n), mode="0755") for n in ("dir", "same", "missing")]
    decided = [decisions(resources, batch) for batch in (True, False)]
    assert decided[0] == decided[1]
    assert [status for status, _ in decided[0]] == [
        "ok", "change", "change", "unknown", "unknown", "change", "unknown", "change",
        "ok", "unknown", "change"]


def test_package_batch_parse_matches_one_by_one_text():
    packages = [Package("nginx-light"), Package("tree"), Package("libc6:amd64")]
    text = ("lists_age=42\ntree|deinstall ok config-files|2.1.0-1\nlibc6|install ok installed|2.36\n"
            "libc6|install ok installed|2.36\n")
    states = Package.batch_parse(packages, text, "@@t:b0")
    assert [p.plan(s).status for p, s in zip(packages, states, strict=True)] == ["change", "change", "ok"]
    assert states[0] == Package("nginx-light").parse("lists_age=42\n")
    # a pinned version needs no candidate; `latest` asks apt-cache for it inside the same batch
    text = Package.batch_probe([Package("tree", version="1"), Package("nano", state="latest")], "@@t:b0")
    assert Package.batched and text.count("dpkg-query") == 1 and text.count("apt-cache policy") == 1
    assert "apt-cache policy nano" in text


def test_service_batch_parse_by_block_order():
    from configurator.resources.service import Service, ServiceState

    units = [Service("nosuch"), Service("ssh")]
    text = ("Id=nosuch.service\nLoadState=not-found\nActiveState=inactive\n\n"
            "Id=ssh.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n"
            "NeedDaemonReload=no\n")
    states = Service.batch_parse(units, text, "@@t:b0")
    assert [u.plan(s).status for u, s in zip(units, states, strict=True)] == ["unknown", "ok"]
    unaligned = Service.batch_parse(units, "Id=x\n", "@@t:b0")
    assert unaligned == [ServiceState(), ServiceState()]  # blocks that do not line up: unknown, not wrong
    assert [u.plan(s).status for u, s in zip(units, unaligned, strict=True)] == ["unknown", "unknown"]


def command_output(*argv: str) -> str:
    return subprocess.run(list(argv), capture_output=True, text=True, check=False).stdout.rstrip("\n")


@pytest.mark.parametrize("broken", ["", "/proc/sys/kernel/"])  # without /proc the same values come from uname
def test_facts_are_what_the_commands_say(broken: str) -> None:
    every = probe.FACTS + probe.ASKED_FACTS
    facts = every.replace(broken, "/no-such-dir/") if broken else every
    seen = probe.parse(run_sh(f"printf '@@tok facts\\n'\n{facts}").stdout, "tok", []).facts
    assert (seen["kernel"], seen["arch"], seen["hostname"]) == (
        command_output("uname", "-r"), command_output("uname", "-m"), command_output("uname", "-n"))
    assert (seen["init"], seen["user"]) == (command_output("cat", "/proc/1/comm"), command_output("id", "-un"))
    assert set(seen) == {"os_id", "os_version", "os_codename", "kernel", "arch", "hostname", "init", "boot", "pkg",
                         "user"}


@pytest.mark.parametrize(("facts", "names"), [
    (probe.Facts.ALL, {"os_id", "os_version", "os_codename", "kernel", "arch", "hostname", "init", "boot", "pkg",
                       "user"}),
    (probe.Facts.FREE, {"os_id", "os_version", "os_codename", "kernel", "hostname", "init", "boot", "pkg"}),
    (probe.Facts.NONE, set())])
def test_the_facts_a_probe_reads(facts: probe.Facts, names: set[str]) -> None:
    assert set(probe.parse(run_sh(probe.script([], "tok", facts)).stdout, "tok", []).facts) == names


def test_facts_read_without_a_process_start_none(tmp_path: Path) -> None:
    """The facts of every run are read by the shell itself: with no command to find, they are all there."""
    done = subprocess.run(["/bin/sh", "-c", probe.script([], "tok", probe.Facts.FREE)], capture_output=True,
                          text=True, env={"PATH": str(tmp_path)}, check=False)
    facts = probe.parse(done.stdout, "tok", []).facts
    assert facts["kernel"] == command_output("uname", "-r") and facts["boot"].count("@") == 1
    assert facts["pkg"] == "none" and done.stderr == ""


def test_pending_handlers_only_read_when_there_are_some(tmp_path, monkeypatch):
    monkeypatch.setattr(probe, "PENDING", str(tmp_path / "pending"))
    assert probe.parse(run_sh(probe.script([], "tok")).stdout, "tok", []).pending == ()
    (tmp_path / "pending").write_text("reload nginx\n\nrestart ssh\n")
    assert probe.parse(run_sh(probe.script([], "tok")).stdout, "tok", []).pending == ("reload nginx", "restart ssh")


# what a batched probe must not do in the script's own shell (it runs in a brace group): end the
# script, fail fatally, or leave state the later probes would see; `set --` alone is allowed
NOT_INLINE = re.compile(
    r"\b(exit|exec|return|cd|trap|umask|ulimit|shift|readonly|unset|alias|eval|export|source)\b"
    r"|\bset\s+[-+](?!-\s)|^\s*\.\s|[;&|{(]\s*\.\s|\w\s*\(\s*\)|\$\{\w+:?\?|\$\(\(", re.M)


@pytest.mark.parametrize("body", [
    Package.batch_probe([Package("a"), Package("b"), Package("c", state="latest")], "@@t:b0"),
    File.batch_probe([File("/a b"), File("/c")], "@@t:b0"),
    Directory.batch_probe([Directory("/a")], "@@t:b0"),
    Service.batch_probe([Service("ssh")], "@@t:b0"),
    User.batch_probe([User("bob"), User("eve", state="absent"), User("al", authorized_keys=("k",))], "@@t:b0"),
    Group.batch_probe([Group("web")], "@@t:b0"),
    Line.batch_probe([Line("/etc/hosts", line="x"), Line("/etc/hosts", line="y")], "@@t:b0"),
    Block.batch_probe([Block("/etc/hosts", "10.0.0.1 db\n")], "@@t:b0"),
])
def test_batched_probes_are_safe_in_the_scripts_own_shell(body: str) -> None:
    assert not NOT_INLINE.search(outside_subshells(body))


SUBSHELL_START = re.compile(r"(?:^|[;&|{]|\bthen|\bdo|\belse)\s*\(", re.M)  # `(` where a command starts


def outside_subshells(body: str) -> str:
    """`body` without its subshells `( ... )`: what runs in them cannot leak into the script's shell."""
    found = SUBSHELL_START.search(body)
    if found is None:
        return body
    depth, end = 0, found.end() - 1
    for end in range(found.end() - 1, len(body)):
        depth += {"(": 1, ")": -1}.get(body[end], 0)
        if depth == 0:
            break
    return body[:found.end() - 1] + outside_subshells(body[end + 1:])


@pytest.mark.parametrize(("body", "left"), [
    ("a; (exit 1); b", "a; ; b"), ("if x; then (a=$((1/0)); echo $a); fi", "if x; then ; fi"), ("x=$(y)", "x=$(y)"),
    ("(a (b) c) d", " d"), ("echo $((1+2))", "echo $((1+2))")])
def test_only_subshells_are_set_aside(body: str, left: str) -> None:
    assert outside_subshells(body) == left


@pytest.mark.parametrize("body", ["getent passwd bob || exit 1\n", "set -e\nstat /\n", "cd /etc && stat hosts\n",
                                  "trap 'rm -f x' EXIT\n", "f() { stat /; }\nf\n", ". /etc/os-release\n"])
def test_the_safety_rule_catches_what_would_leak_out_of_a_brace_group(body: str) -> None:
    assert NOT_INLINE.search(body)


def test_every_batched_kind_in_one_script_decides_like_one_by_one(tmp_path):
    (tmp_path / "conf").write_text("a=1\n")
    resources = [
        User("root"), User("no-such-user-cfg"), User("nobody", state="absent"), Group("root", gid=0),
        Group("no-such-group-cfg"), Line(str(tmp_path / "conf"), line="a=1"), Line(str(tmp_path / "conf"), line="b"),
        Line(str(tmp_path / "missing"), line="c"), File(str(tmp_path / "conf"), b"a=1\n"), Directory(str(tmp_path)),
        User("root", authorized_keys=()),  # keys are read one by one, by its own probe inside the batch
    ]
    script = probe.script(resources, "tok", facts=probe.Facts.NONE)
    assert script.count("getent passwd") == 2 and script.count("( ") == 1 and script.count("{ ") >= 4
    decided = [decisions(resources, batch) for batch in (True, False)]
    assert decided[0] == decided[1]
    assert [status for status, _ in decided[0]][:8] == ["ok", "change", "change", "ok", "change", "ok", "change",
                                                        "unknown"]


@pytest.mark.parametrize("value", ["a\n", "reload\n", "a\nb", "\n", "x\n; touch pwned"])
def test_a_value_with_a_newline_stays_one_argument(value, tmp_path):
    done = subprocess.run(["sh", "-c", f"printf %s {quote(value)}"], capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout == value and not (tmp_path / "pwned").exists()


def test_no_anchored_validator_accepts_a_trailing_newline():
    """`$` also matches before a final newline: a validator written `^...$` and used with .match() lets
    "name\\n" through (into a command line, an fstab or a crontab line). Every one ends in \\Z."""
    import configurator

    found = []
    for path in Path(configurator.__file__).parent.rglob("*.py"):
        for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"""re\.(compile|match)\(r?b?"\^[^"]*\$"(\)|, re\.I)""", line):
                found.append(f"{path.name}:{line_number}")
    assert not found, found
