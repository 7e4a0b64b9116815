"""systemd unit files (service, timer, socket, mount...): verified before install, one daemon-reload for
consecutive changes, enabled and started as asked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

from configurator.engine.actions import Action, Run, Upload, quote
from configurator.resources.base import Check, Resource, Step, Unreadable, change, ok, unknown
from configurator.resources.file import File, FileState
from configurator.resources.service import ServiceState, _is_enabled, service_state
from configurator.resources.touch import EVERYTHING, UNIT_FOLDERS, Touches, touches

UNIT_DIR = "/etc/systemd/system"
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9:_.@\\-]*\.(service|socket|timer|mount|automount|path|target|slice|scope"
                  r"|swap|device)$")
PROPS = "Id,LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload,NextElapseUSecRealtime," \
        "NextElapseUSecMonotonic"
RELOAD = Run(("systemctl", "daemon-reload"))
_ONE = "@@unit"  # the separator of a lone probe: no line of `stat`, `sha256sum` or `systemctl show` is this
# the validator: the new text copied under its unit name into a private temp dir, then verified there
VERIFY = ("sh", "-c", 'd=$(mktemp -d) || exit 1; trap \'rm -rf "$d"\' EXIT; cp -- "$1" "$d/$2" '
          '&& systemd-analyze verify -- "$d/$2"', "sh", "%s")


@dataclass(frozen=True)
class UnitState:
    """The unit file as `stat`/`sha256sum` saw it, and what `systemctl show` says of the unit."""

    file: FileState
    unit: ServiceState
    next_elapse: str = ""  # when a timer fires next ("" when it is not scheduled)


def scheduled(fields: dict[str, str]) -> str:
    """When a timer fires next, from its NextElapseUSec* properties ("" when not scheduled)."""
    real = fields.get("NextElapseUSecRealtime", "")
    mono = fields.get("NextElapseUSecMonotonic", "")
    if real and real not in ("0", "n/a"):
        return real
    return f"in {mono}" if mono and mono not in ("infinity", "0") else ""


def _fields(block: str) -> dict[str, str]:
    return dict(line.partition("=")[::2] for line in block.split("\n") if "=" in line)


def _phase(action: Action) -> int:
    """The order actions of unit changes run in: files, then (un)linking, one reload, then start/stop."""
    if isinstance(action, Upload) or action.at is not None:
        return 0
    if action.argv[:2] == ("systemctl", "--no-reload"):
        return 1
    return 2 if action == RELOAD else 3


@dataclass(frozen=True)
class Unit(Resource[UnitState]):
    """A systemd unit file in /etc/systemd/system, verified before install, enabled and started as asked.

    Example: `unit: {name: backup.timer, content: "[Timer]\\nOnCalendar=daily\\n...", enabled: true,
    state: started}`

    The text is `content` (rendered with jinja2 like every argument) or `src`, a file in the
    role's `files/`; `unit_template` takes `src` from `templates/` instead. The new text is
    checked with `systemd-analyze verify` under its unit name in a private temporary directory
    before it replaces the installed file (a unit with a bad setting or a missing `ExecStart`
    binary is refused and the installed file kept). A change is followed by `systemctl
    daemon-reload`; consecutive unit changes (declare a role's units together, the service
    before its timer) are one step with one reload, after every file is written and enabled
    (`--no-reload`) and before any is started. `state` (`started` or `stopped`) and `enabled`
    are left alone when not given; a changed unit that runs is not restarted (notify a
    `service` handler for that); a oneshot service that has finished is inactive again, so give
    it no `state` (its timer starts it). The verify checks include, for a started timer, that
    systemd has scheduled it (NextElapse in `systemctl show`).
    """

    name: str
    content: bytes = b""
    enabled: bool | None = None
    state: Literal["started", "stopped"] | None = None
    # set by the catalog for a `src` over 1 MiB (refused: no unit file is that large)
    source: str | None = field(default=None, metadata={"internal": True})
    source_sha256: str = field(default="", metadata={"internal": True})
    type: ClassVar[str] = "unit"
    batched: ClassVar[bool] = True  # one stat, one sha256sum and one `systemctl show` for every unit
    merges: ClassVar[bool] = True  # consecutive changes share one daemon-reload
    source_folder: ClassVar[str] = "files"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.name}]"

    @property
    def path(self) -> str:
        return f"{UNIT_DIR}/{self.name}"

    @property
    def file(self) -> File:
        """The unit file as a file resource (content, root's, 0644), validated by `systemd-analyze verify`."""
        return File(self.path, self.content, owner="root", group="root", mode="0644",
                    validator=(*VERIFY, self.name))

    def validate(self) -> list[str]:
        if not NAME.match(self.name):
            return [f"{self.name!r} is not a systemd unit file name (name.service, name.timer, ...)"]
        if self.source is not None:
            return ["a unit file larger than 1 MiB is refused"]
        if not self.content.strip():
            return ["give the unit's text in `content` or `src`"]
        return []

    @classmethod
    def batch_probe(cls, items: Sequence[Self], mark: str) -> str:
        """The unit files' stat and checksums, then one `systemctl show` for all the units."""
        files = File.batch_probe([u.file for u in items], f"{mark}:f")
        names = " ".join(quote(u.name) for u in items)
        return f"{files}echo {quote(mark)}\nsystemctl show -p {PROPS} -- {names}\n"

    @classmethod
    def batch_parse(cls, items: Sequence[Self], text: str, mark: str) -> list[UnitState | Unreadable]:
        files_text, sep, shown = text.partition(f"{mark}\n")
        blocks = [b for b in shown.strip("\n").split("\n\n") if b.strip()]
        if not sep or len(blocks) != len(items):
            return [Unreadable("systemctl show did not describe every unit")] * len(items)
        files = File.batch_parse([u.file for u in items], files_text, f"{mark}:f")
        return [_state(f, b) for f, b in zip(files, blocks, strict=True)]

    def touches(self) -> Touches:
        """Reads its file and the unit; a daemon-reload touches every unit, a start may write anywhere."""
        reload = {("unit", "*"), ("path", self.path), ("tree", "/etc/systemd")}
        written = EVERYTHING if self.state == "started" else reload
        systemd = {("tree", folder) for folder in UNIT_FOLDERS}
        return touches({("path", self.path), ("unit", self.name), *systemd}, written)

    def probe(self) -> str:
        """The file with its old content (for a diff) when it differs, and the unit's `systemctl show`."""
        return f"{self.file.probe()}echo {_ONE}\nsystemctl show -p {PROPS} -- {quote(self.name)}\n"

    def parse(self, text: str) -> UnitState:
        file_text, sep, shown = text.partition(f"{_ONE}\n")
        if not sep:
            raise ValueError("the unit probe was cut short")
        state = _state(self.file.parse(file_text), shown)
        if isinstance(state, Unreadable):
            raise ValueError(state.reason)
        return state

    def plan(self, observed: UnitState) -> Step:
        unit = observed.unit
        if unit.load == "masked":
            return unknown(f"{self.name} is masked")
        installed = self.file.plan(observed.file)
        if installed.status == "unknown":
            return installed
        notes = [installed.summary] if installed.actions else []
        actions: list[Action] = list(installed.actions)
        if self.enabled is not None and _is_enabled(unit.unit_file) != self.enabled:
            word = "enable" if self.enabled else "disable"
            notes.append(f"{word} {self.name}")
            actions.append(Run(("systemctl", "--no-reload", word, "--", self.name)))
        if actions or unit.needs_daemon_reload:
            notes.append("daemon-reload")
            actions.append(RELOAD)
        verb = self._verb(unit)
        if verb:
            notes.append(f"{verb} {self.name}")
            actions.append(Run(("systemctl", verb, "--", self.name)))
        if not actions:
            return ok(f"{self.name} {unit.active}" + (f", next {observed.next_elapse}" if observed.next_elapse else ""))
        step = change(", ".join(notes), *actions, diff=installed.diff,
                      kind="create" if observed.file.kind == "absent" else "modify")
        return Step(step.status, step.summary, step.actions, step.diff, step.kind, installed.needs_detail)

    def _verb(self, unit: ServiceState) -> str:
        active = unit.active in ("active", "reloading", "activating")
        if self.state == "started" and not active:
            return "start"
        if self.state == "stopped" and active:
            return "stop"
        return ""

    @classmethod
    def merge(cls, actions: list[Action]) -> list[Action]:
        """Every file first, then enable/disable, ONE daemon-reload, then start/stop."""
        ordered = sorted(actions, key=_phase)
        first = ordered.index(RELOAD) if RELOAD in ordered else -1
        return [a for n, a in enumerate(ordered) if a != RELOAD or n == first]

    def checks(self) -> list[Check]:
        return [*self.file.checks(), Check(f"unit {self.name} {self.state or ''}".strip(), self._verify)]

    def _verify(self, host: Any) -> None:
        shown = _fields(host.run(f"systemctl show -p {PROPS} -- {quote(self.name)}").stdout)
        assert shown.get("LoadState") == "loaded", f"{self.name} is {shown.get('LoadState')}"
        assert shown.get("NeedDaemonReload") != "yes", f"{self.name} changed on disk and was not reloaded"
        if self.enabled is not None:
            assert _is_enabled(shown.get("UnitFileState", "")) == self.enabled, \
                f"{self.name} is {shown.get('UnitFileState')}"
        if self.state is not None:
            active = shown.get("ActiveState") in ("active", "reloading", "activating")
            assert active == (self.state == "started"), f"{self.name} is {shown.get('ActiveState')}"
        if self.state == "started" and self.name.endswith(".timer"):
            assert scheduled(shown), f"timer {self.name} is not scheduled (no NextElapse)"


def _state(file: FileState | Unreadable, shown: str) -> UnitState | Unreadable:
    if isinstance(file, Unreadable):
        return file
    fields = _fields(shown)
    return UnitState(file, service_state(shown), scheduled(fields))


@dataclass(frozen=True)
class UnitTemplate(Unit):
    """A systemd unit file rendered from a template of the role; otherwise as `unit`.

    Example: `unit_template: {name: backup.service, src: backup.service.j2}`
    """

    source_folder: ClassVar[str] = "templates"
    renders_source: ClassVar[bool] = True

    def __new__(cls, *args: Any, **kwargs: Any) -> Unit:  # type: ignore[misc]
        """A plain `Unit` once the text is rendered: changes of both kinds then merge into one step
        (the engine merges consecutive changes of one class)."""
        return Unit(*args, **kwargs)
