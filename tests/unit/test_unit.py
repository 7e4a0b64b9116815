"""Unit: stat/sha256sum/systemctl text in, actions out; one daemon-reload for consecutive changes."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from configurator.engine.actions import Run, Upload
from configurator.resources.base import decide
from configurator.resources.unit import RELOAD, VERIFY, Unit, UnitState, scheduled

TEXT = b"[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n"
SUM = hashlib.sha256(TEXT).hexdigest()
PATH = "/etc/systemd/system/backup.timer"


def shown(load: str = "loaded", active: str = "inactive", unit_file: str = "disabled", reload: str = "no",
          real: str = "", mono: str = "infinity") -> str:
    return (f"Id=backup.timer\nLoadState={load}\nActiveState={active}\nSubState=dead\nUnitFileState={unit_file}\n"
            f"NeedDaemonReload={reload}\nNextElapseUSecRealtime={real}\nNextElapseUSecMonotonic={mono}\n")


def observed(file: str | None = SUM, **unit: str) -> str:
    """What Unit.probe prints: the file's stat (and checksum), the marker, then `systemctl show`."""
    head = "type=absent\n" if file is None else (
        f"type=regular file\nmode=644\nowner=root\ngroup=root\nsha256={file}\n")
    return f"{head}@@unit\n{shown(**unit)}"


def timer(**args: Any) -> Unit:
    return Unit(**{"name": "backup.timer", "content": TEXT, **args})


UPLOAD = Upload(PATH, TEXT, "0644", "root", "root", (*VERIFY, "backup.timer"))
START = Run(("systemctl", "start", "--", "backup.timer"))
ENABLE = Run(("systemctl", "--no-reload", "enable", "--", "backup.timer"))

# (resource, observed, actions or () when converged, summary)
CASES = [
    (timer(), observed(), (), "backup.timer inactive"),
    (timer(enabled=True, state="started"), observed(active="active", unit_file="enabled", real="Mon 2026-11-30"),
     (), "backup.timer active, next Mon 2026-11-30"),
    (timer(enabled=True, state="started"), observed(None, load="not-found", unit_file=""),
     (UPLOAD, ENABLE, RELOAD, START),
     "create /etc/systemd/system/backup.timer, enable backup.timer, daemon-reload, start backup.timer"),
    (timer(), observed(None, load="not-found", unit_file=""), (UPLOAD, RELOAD),
     "create /etc/systemd/system/backup.timer, daemon-reload"),
    (timer(state="started"), observed(active="active", reload="yes"), (RELOAD,), "daemon-reload"),
    (timer(enabled=False, state="stopped"), observed(active="active", unit_file="enabled"),
     (Run(("systemctl", "--no-reload", "disable", "--", "backup.timer")), RELOAD,
      Run(("systemctl", "stop", "--", "backup.timer"))),
     "disable backup.timer, daemon-reload, stop backup.timer"),
    (timer(state="started"), observed(), (START,), "start backup.timer"),
]


@pytest.mark.parametrize(("unit", "text", "actions", "summary"), CASES)
def test_plan(unit: Unit, text: str, actions: tuple[Any, ...], summary: str) -> None:
    step = decide(unit, text)
    assert (step.actions, step.summary) == (actions, summary)


def test_changed_content_asks_for_its_old_text_from_the_batch_and_shows_a_diff_alone() -> None:
    batched = Unit.batch_parse([timer()], f"regular file|644|root|root|{PATH}\0m:f\n{'0' * 64}  {PATH}\0m\n{shown()}",
                              "m")[0]
    assert isinstance(batched, UnitState)
    assert timer().plan(batched).needs_detail and timer().plan(batched).actions == (UPLOAD, RELOAD)
    old = b"[Timer]\nOnCalendar=weekly\n"
    text = (f"type=regular file\nmode=644\nowner=root\ngroup=root\nsha256={'0' * 64}\n"
            f"content_b64={base64.b64encode(old).decode()}\n@@unit\n{shown()}")
    step = decide(timer(), text)
    assert step.actions == (UPLOAD, RELOAD) and "-OnCalendar=weekly" in step.diff


def test_merge_orders_files_links_one_reload_then_starts() -> None:
    service = Upload("/etc/systemd/system/backup.service", b"x", "0644", "root", "root")
    actions = [service, RELOAD, START, UPLOAD, ENABLE, RELOAD, START]
    assert Unit.merge(actions) == [service, UPLOAD, ENABLE, RELOAD, START, START]
    assert Unit.merge([START]) == [START]


def test_masked_unit_is_unknown() -> None:
    assert decide(timer(), observed(load="masked")).status == "unknown"


@pytest.mark.parametrize(("real", "mono", "when"), [
    ("Mon 2026-11-30 00:00:00 UTC", "infinity", "Mon 2026-11-30 00:00:00 UTC"),
    ("", "2h 58min", "in 2h 58min"),
    ("", "infinity", ""),
    ("n/a", "0", ""),
])
def test_scheduled(real: str, mono: str, when: str) -> None:
    assert scheduled({"NextElapseUSecRealtime": real, "NextElapseUSecMonotonic": mono}) == when


@pytest.mark.parametrize(("args", "problem"), [
    ({"name": "backup"}, "not a systemd unit file name"),
    ({"name": "../x.service"}, "not a systemd unit file name"),
    ({"content": b"  \n"}, "content"),
    ({"source": "/big"}, "larger than 1 MiB"),
])
def test_validate(args: dict[str, Any], problem: str) -> None:
    assert any(problem in p for p in timer(**args).validate())


def test_batch_parse_reads_each_unit_in_order() -> None:
    items = [timer(), timer(name="backup.service")]
    stat = f"regular file|644|root|root|{PATH}\0"
    sums = f"{SUM}  {PATH}\0"
    text = f"{stat}m:f\n{sums}m\n{shown(active='active')}\n{shown(load='not-found')}"
    states = Unit.batch_parse(items, text, "m")
    first, second = (s for s in states if isinstance(s, UnitState))
    assert first.unit.active == "active" and first.file.sha256 == SUM
    assert second.file.kind == "absent" and second.unit.load == "not-found"


def test_a_unit_template_is_a_unit_once_rendered_so_that_changes_of_both_merge() -> None:
    from configurator.resources.unit import UnitTemplate
    made = UnitTemplate(name="backup.timer", content=TEXT)
    assert type(made) is Unit and made == timer()
    assert UnitTemplate.renders_source and UnitTemplate.source_folder == "templates"


class FakeRun:
    def __init__(self, stdout: str) -> None:
        self.stdout = stdout


class FakeHost:
    """What the unit's own check reads through testinfra: `systemctl show` of the unit."""

    def __init__(self, shown_text: str) -> None:
        self.shown = shown_text

    def run(self, command: str) -> FakeRun:
        assert command.startswith("systemctl show -p ") and command.endswith("-- backup.timer")
        return FakeRun(self.shown)


@pytest.mark.parametrize(("unit", "text", "passes"), [
    (timer(enabled=True, state="started"), shown(active="active", unit_file="enabled", real="Mon"), True),
    (timer(enabled=True, state="started"), shown(active="active", unit_file="enabled", mono="5min"), True),
    (timer(enabled=True, state="started"), shown(active="active", unit_file="enabled"), False),  # not scheduled
    (timer(enabled=True, state="started"), shown(active="inactive", unit_file="enabled", real="Mon"), False),
    (timer(enabled=True), shown(unit_file="disabled"), False),
    (timer(), shown(reload="yes"), False),
    (timer(), shown(load="not-found"), False),
    (timer(state="stopped"), shown(), True),
])
def test_verify_check(unit: Unit, text: str, passes: bool) -> None:
    own = unit.checks()[-1]
    if passes:
        own.test(FakeHost(text))
    else:
        with pytest.raises(AssertionError):
            own.test(FakeHost(text))
