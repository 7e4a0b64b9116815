"""Cron: the rendered /etc/cron.d file, its validation, and probe/plan delegated to File."""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from configurator.engine.actions import Run, Upload
from configurator.resources.base import decide
from configurator.resources.cron import HEADER, Cron
from configurator.resources.file import File

BACKUP = Cron("backup", "30 2 * * *", "/usr/local/bin/backup --full", env={"MAILTO": "ops@example.com"})
CONTENT = (HEADER + "MAILTO=ops@example.com\n30 2 * * * root /usr/local/bin/backup --full\n").encode()

CRON = "/etc/cron.d/backup"


def saved(content: bytes, mode: str = "644", owner: str = "root") -> str:
    """What File's probe reports for an existing /etc/cron.d file."""
    sha = hashlib.sha256(content).hexdigest()
    return f"type=regular file\nmode={mode}\nowner={owner}\ngroup=root\nsha256={sha}\n"


@pytest.mark.parametrize(("cron", "job_lines"), [
    (BACKUP, "MAILTO=ops@example.com\n30 2 * * * root /usr/local/bin/backup --full\n"),
    (Cron("logs", "@daily", "find /var/log/app -mtime +7 -delete", user="app"),
     "@daily app find /var/log/app -mtime +7 -delete\n"),
    (Cron("x", " */5  *\t* * 1-5 ", "date +\\%F >> /tmp/d", env={"SHELL": "/bin/bash", "MAILTO": ""}),
     "SHELL=/bin/bash\nMAILTO=\n*/5 * * * 1-5 root date +\\%F >> /tmp/d\n"),
])
def test_content(cron: Cron, job_lines: str) -> None:
    assert cron.content() == (HEADER + job_lines).encode()
    assert HEADER.startswith("# managed by configurator")


def test_file_is_root_owned_0644_under_cron_d() -> None:
    assert BACKUP.file() == File("/etc/cron.d/backup", CONTENT, "present", "root", "root", "0644")
    assert Cron("backup", state="absent").file().state == "absent"


@pytest.mark.parametrize(("observed", "status", "actions"), [
    ("type=absent\n", "change", (Upload("/etc/cron.d/backup", CONTENT, "0644", "root", "root"),)),
    (saved(CONTENT), "ok", ()),
    (saved(b"old\n"), "change", (Upload("/etc/cron.d/backup", CONTENT, "0644", "root", "root"),)),
    (saved(CONTENT, mode="664"), "change", (Run(("chmod", "00644", "--", CRON), at=CRON),)),
    (saved(CONTENT, owner="bob"), "change", (Run(("chown", "root:root", "--", CRON), at=CRON),)),
    ("type=directory\n", "unknown", ()),
])
def test_plan(observed: str, status: str, actions: tuple[object, ...]) -> None:
    step = decide(BACKUP, observed)
    assert (step.status, step.actions) == (status, actions)


def test_plan_create_shows_the_job_in_the_diff() -> None:
    step = decide(BACKUP, "type=absent\n")
    assert (step.summary, step.kind) == ("create /etc/cron.d/backup", "create")
    assert "+30 2 * * * root /usr/local/bin/backup --full\n" in step.diff


@pytest.mark.parametrize(("observed", "status"), [("type=absent\n", "ok"), (saved(b"x\n"), "change")])
def test_plan_absent(observed: str, status: str) -> None:
    step = decide(Cron("backup", state="absent"), observed)
    assert step.status == status
    if status == "change":
        assert step.actions == (Run(("rm", "-f", "--", CRON), at=CRON),)


@pytest.mark.parametrize(("cron", "problem"), [
    (Cron("back.up", "@daily", "x"), "may only use letters, digits"),
    (Cron("back up", "@daily", "x"), "may only use letters, digits"),
    (Cron("a", "* * * *", "x"), "must have 5 fields (minute hour day month weekday)"),
    (Cron("a", "* * * * * *", "x"), "it has 6"),
    (Cron("a", "", "x"), "it has 0"),
    (Cron("a", "@sometimes", "x"), "'@sometimes' is not one of @reboot"),
    (Cron("a", "* * * * $(x)", "x"), "schedule field '$(x)' is not a cron field"),
    (Cron("a", "@daily", ""), "command must be one non-empty line"),
    (Cron("a", "@daily", "x\ny"), "command must be one non-empty line"),
    (Cron("a", "@daily", "x", user="-root"), "user name '-root' is not valid"),
    (Cron("a", "@daily", "x", env={"MAIL TO": "x"}), "env MAIL TO"),
    (Cron("a", "@daily", "x", env={"PATH": "a\nb"}), "env PATH"),
])
def test_validate_problems(cron: Cron, problem: str) -> None:
    assert any(problem in p for p in cron.validate()), cron.validate()


@pytest.mark.parametrize("cron", [
    BACKUP, Cron("a_b-1", "0 4 1,15 jan-jun mon", "x"), Cron("a", "@reboot", "x", user="www-data"),
    Cron("only-a-name", state="absent"),
])
def test_validate_accepts(cron: Cron) -> None:
    assert cron.validate() == []


def test_probe_is_files_and_valid_sh() -> None:
    assert BACKUP.probe() == BACKUP.file().probe()
    subprocess.run(["sh", "-n", "-c", BACKUP.probe()], check=True)


def test_probe_and_plan_agree_on_a_missing_file() -> None:
    cron = Cron("no-such-job-cfg", "@daily", "true")
    probe = subprocess.run(["sh", "-c", cron.probe()], capture_output=True, text=True, check=True,
                           stdin=subprocess.DEVNULL)
    assert decide(cron, probe.stdout).kind == "create"


def test_checks_are_files() -> None:
    assert [c.name for c in BACKUP.checks()] == [c.name for c in BACKUP.file().checks()]


def test_hashable_with_env() -> None:
    without_env = Cron("backup", "30 2 * * *", "/usr/local/bin/backup --full")
    assert hash(without_env) == hash(BACKUP)
    assert without_env != BACKUP
