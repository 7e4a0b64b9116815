"""Command: the guards decide on the host, plan turns the decision into run or skip."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from configurator.engine.actions import Run
from configurator.resources import command as command_module
from configurator.resources.base import decide
from configurator.resources.command import Command

CMD = Command(("/usr/local/bin/init", "--all"), creates="/var/lib/app/.done")


def run_probe(resource: Command) -> str:
    # stdin carries text that a guard reading stdin would see: the probe must not let it
    result = subprocess.run(["sh", "-c", resource.probe()], capture_output=True, text=True,
                            input="yes\n", check=True)
    return result.stdout


@pytest.mark.parametrize(("observed", "status", "summary"), [
    ("decision=run\nreason=no guard stopped it\n", "change", "would run: /usr/local/bin/init --all"),
    ("decision=skip\nreason=/var/lib/app/.done exists\n", "ok", "/var/lib/app/.done exists"),
    ("decision=error\nreason=unless x did not complete (exit 127)\n", "unknown",
     "unless x did not complete (exit 127)"),
    ("", "unknown", "the guards could not be evaluated"),
    ("decision=maybe\n", "unknown", "the guards could not be evaluated"),
])
def test_plan(observed: str, status: str, summary: str) -> None:
    step = decide(CMD, observed)
    assert (step.status, step.summary) == (status, summary)
    assert step.actions == ((Run(("/usr/local/bin/init", "--all")),) if status == "change" else ())


def test_plan_without_guards_runs_every_time() -> None:
    step = decide(Command(("date",)), "")
    assert (step.status, step.summary, step.actions) == (
        "change", "runs every time (no creates/unless/onlyif)", (Run(("date",)),))


def test_action_with_chdir_stdin_and_timeout() -> None:
    resource = Command(("make", "install"), chdir="/srv/app", stdin="y\n", timeout=30)
    assert resource.action() == Run(("env", "-C", "/srv/app", "--", "make", "install"), b"y\n", 30)


@pytest.mark.parametrize(("resource", "problem"), [
    (Command(()), "argv must name a command"),
    (Command(("",)), "argv must name a command"),
    (Command(("FOO=1", "make")), "no '='"),
    (Command(("-x",)), "no leading '-'"),
    (Command(("true",), unless=()), "unless must be a non-empty command"),
    (Command(("true",), onlyif=("",)), "onlyif must be a non-empty command"),
    (Command(("true",), timeout=0), "timeout must be positive"),
    (Command(("echo", "a\0b")), "NUL"),
])
def test_validate_problems(resource: Command, problem: str) -> None:
    assert any(problem in p for p in resource.validate()), resource.validate()


def test_validate_accepts_an_explicit_shell() -> None:
    assert Command(("sh", "-c", "echo $HOME > /tmp/x"), unless=("test", "-e", "/tmp/x")).validate() == []


@pytest.mark.parametrize("resource", [
    Command(("true",)), CMD,
    Command(("true",), creates="/a b", removes="/c'd", unless=("test", "-e", "$(x)"), onlyif=("true",),
            chdir="/tmp/it's"),
])
def test_probe_is_valid_sh(resource: Command) -> None:
    subprocess.run(["sh", "-n", "-c", resource.probe()], check=True)


@pytest.fixture
def here(tmp_path: Path) -> Path:
    (tmp_path / "present").touch()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    return tmp_path


# Guards evaluated for real in a temp dir: (guards, expected status, part of the summary)
GUARDS = [
    ({"creates": "{d}/present"}, "ok", "present exists"),
    ({"creates": "{d}/dangling"}, "ok", "dangling exists"),
    ({"creates": "{d}/missing"}, "change", "would run"),
    ({"removes": "{d}/present"}, "change", "would run"),
    ({"removes": "{d}/missing"}, "ok", "missing does not exist"),
    ({"unless": ("true",)}, "ok", "unless true succeeded"),
    ({"unless": ("false",)}, "change", "would run"),
    ({"onlyif": ("true",)}, "change", "would run"),
    ({"onlyif": ("false",)}, "ok", "onlyif false failed (exit 1)"),
    ({"onlyif": ("sh", "-c", "exit 3")}, "ok", "(exit 3)"),
    ({"unless": ("no-such-command-cfg",)}, "unknown", "did not complete (exit 127)"),
    ({"onlyif": ("no-such-command-cfg",)}, "unknown", "did not complete (exit 127)"),
    ({"unless": ("sh", "-c", "read x")}, "change", "would run"),  # stdin is /dev/null: read fails
    ({"unless": ("test", "-e", "present"), "chdir": "{d}"}, "ok", "unless test -e present succeeded"),
    ({"unless": ("true",), "chdir": "{d}/missing"}, "unknown", "is not a directory"),
    ({"creates": "{d}/present", "unless": ("false",)}, "ok", "present exists"),  # first guard wins
    ({"creates": "{d}/missing", "onlyif": ("false",)}, "ok", "onlyif false failed"),
    ({"creates": "{d}/missing", "removes": "{d}/present", "unless": ("false",), "onlyif": ("true",)},
     "change", "would run"),
]


@pytest.mark.parametrize(("guards", "status", "summary"), GUARDS)
def test_probe_and_plan_agree_on_this_machine(here: Path, guards: dict[str, object], status: str,
                                              summary: str) -> None:
    args = {k: v.format(d=here) if isinstance(v, str) else v for k, v in guards.items()}
    resource = Command(("echo", "hi"), **args)
    step = decide(resource, run_probe(resource))
    assert step.status == status and summary in step.summary, step


def test_guard_timeout_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command_module, "GUARD_TIMEOUT", 1)
    resource = Command(("echo",), unless=("sleep", "10"))
    step = decide(resource, run_probe(resource))
    assert (step.status, step.summary) == ("unknown", "unless sleep 10 did not complete (exit 124)")


def test_checks() -> None:
    assert Command(("true",), unless=("true",)).checks() == []
    testinfra = pytest.importorskip("testinfra")
    host = testinfra.get_host("local://")
    Command(("true",), creates="/etc/hostname").checks()[0].test(host)
    with pytest.raises(AssertionError, match="/no/such/file does not exist after running true"):
        Command(("true",), creates="/no/such/file").checks()[0].test(host)
