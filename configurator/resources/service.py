"""systemd services: running/stopped, enabled/disabled; reload/restart as handlers."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

from configurator.engine.actions import Run, quote
from configurator.resources.base import Check, Resource, Step, Unreadable, change, field_lines, ok, unknown
from configurator.resources.sections import split_marked
from configurator.resources.touch import ANY, EVERYTHING, PATH_KINDS, UNIT_FOLDERS, Touch, Touches, touches

UNIT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9:_.@\\-]*\Z")
PROPS = "LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload,DropInPaths"
# where admins and roles put drop-ins; a new drop-in folder is not one systemd watches (NeedDaemonReload
# stays "no" on bookworm), so the probe lists their files and compares them with what the unit loaded
DROPIN_ROOTS = ("/etc/systemd/system", "/run/systemd/system")
STATES = ("running", "stopped", "reloaded", "restarted")


@dataclass(frozen=True)
class ServiceState:
    """What `systemctl show` says of a unit ("" where it said nothing)."""

    load: str = ""
    active: str = ""
    sub: str = ""
    unit_file: str = ""
    needs_daemon_reload: bool = False


def service_state(text: str, dropins: Sequence[str] = (), name: str = "") -> ServiceState:
    """A unit's state from its `systemctl show` block; `dropins`: the drop-in files found on disk."""
    seen = field_lines(text)
    folders = tuple(f"{folder}/" for folder in dropin_folders(name)) if name else ()
    loaded = {p for p in seen.get("DropInPaths", "").split() if p.startswith(folders)}
    found = {p for p in dropins if p.startswith(folders)}
    return ServiceState(seen.get("LoadState", ""), seen.get("ActiveState", ""), seen.get("SubState", ""),
                        seen.get("UnitFileState", ""), seen.get("NeedDaemonReload") == "yes" or found != loaded)


def dropin_folders(name: str) -> tuple[str, ...]:
    """Where this unit's drop-ins are looked for: `<root>/nginx.service.d` for each of DROPIN_ROOTS."""
    return tuple(f"{root}/{unit_name(name)}.d" for root in DROPIN_ROOTS)


def unit_name(name: str) -> str:
    """`nginx` as systemd names it: `nginx.service`."""
    return name if "." in name else f"{name}.service"


def dropins_script(names: Sequence[str], mark: str) -> str:
    """Sh (builtins only) that prints a marker, then every drop-in file of these units in DROPIN_ROOTS."""
    globs = " ".join(f"{quote(folder)}/*.conf" for n in names for folder in dropin_folders(n))
    return (f"printf '\\n@@{mark} dropins\\n'; for __cfg_d in {globs}; do "
            '[ -e "$__cfg_d" ] && printf \'%s\\n\' "$__cfg_d"; done; true\n')


def split_dropins(text: str, mark: str) -> tuple[str, list[str]]:
    """The `systemctl show` part of a probe's output, and the drop-in files listed after the marker."""
    head, *after = split_marked(text, f"@@{mark} dropins")
    return head, [line for line in "".join(after).splitlines() if line.startswith("/")]


@dataclass(frozen=True)
class Service(Resource[ServiceState]):
    """A systemd unit's state; `reloaded`/`restarted` are for handlers. A changed unit file, or a drop-in
    added, changed or removed in /etc/systemd/system/NAME.d or /run/systemd/system/NAME.d, is loaded
    (`daemon-reload`) before the unit is started or restarted.

    Example: `service: {name: nginx, state: running, enabled: true}`
    """

    name: str
    state: str | None = "running"
    enabled: bool | None = None
    type: ClassVar[str] = "service"
    batched: ClassVar[bool] = True  # probed with the other units in one `systemctl show`

    @property
    def id(self) -> str:
        return f"{self.type}[{self.name}]"

    def validate(self) -> list[str]:
        if self.state is not None and self.state not in STATES:
            return [f"state must be one of {', '.join(STATES)}, got {self.state!r}"]
        if not UNIT.match(self.name):
            return [f"{self.name!r} is not a systemd unit name"]
        return []

    def touches(self) -> Touches:
        """Reads the unit and the folders of unit files; starting a daemon may write anywhere (its first
        start may create files and keys), enabling it only the unit links."""
        unit = unit_name(self.name)
        systemd = {("tree", folder) for folder in UNIT_FOLDERS}
        written = EVERYTHING if self.state is not None else {("unit", unit), ("tree", "/etc/systemd")}
        return touches({("unit", unit), *systemd}, written)

    def after_writes(self, observed: ServiceState, written: frozenset[Touch]) -> ServiceState | None:
        """After a change that wrote a unit file or drop-in of this unit, apply runs a daemon-reload; after
        one that ran a daemon-reload itself (it writes every unit: a `unit` step), none is left to run. A
        write it cannot place (a package's) tells nothing."""
        if ("unit", ANY) in written:
            return replace(observed, needs_daemon_reload=False)
        files = {f"{root}/{unit_name(self.name)}" for root in DROPIN_ROOTS}
        folders = dropin_folders(self.name)
        beneath = tuple(f"{folder}/" for folder in folders)
        for kind, name in written:
            path = posixpath.normpath(name) if kind in PATH_KINDS and name != ANY else ""
            inside = path.startswith(beneath)  # a drop-in (an empty folder is none)
            if path in files or inside or (kind == "tree" and path in folders):
                return replace(observed, needs_daemon_reload=True)
        return None

    def probe(self) -> str:
        return f"systemctl show -p {PROPS} -- {quote(self.name)} 2>&1\n" + dropins_script([self.name], "one")

    @classmethod
    def batch_probe(cls, items: Sequence[Self], mark: str) -> str:
        """One `systemctl show` for many units (one block each, in order, blank lines between), then
        their drop-in files."""
        names = [s.name for s in items]
        return f"systemctl show -p Id,{PROPS} -- " + " ".join(quote(n) for n in names) + "\n" + \
            dropins_script(names, mark)

    @classmethod
    def batch_parse(cls, items: Sequence[Self], text: str, mark: str) -> list[ServiceState | Unreadable]:
        """Each unit's state; if the blocks do not line up with the units, each is unreadable (unknown)."""
        shown, dropins = split_dropins(text, mark)
        blocks = [b for b in shown.strip("\n").split("\n\n") if b.strip()]
        if len(blocks) != len(items):
            return [ServiceState()] * len(items)
        return [service_state(b, dropins, s.name) for b, s in zip(blocks, items, strict=True)]

    def parse(self, text: str) -> ServiceState:
        shown, dropins = split_dropins(text, "one")
        return service_state(shown, dropins, self.name)

    def plan(self, observed: ServiceState) -> Step:
        seen = observed
        if seen.load != "loaded":
            return unknown(f"unit {self.name} is {seen.load or 'not readable'}")
        actions: list[Run] = []
        notes: list[str] = []
        if seen.needs_daemon_reload:
            notes.append("daemon-reload (unit file or drop-in changed)")
            actions.append(Run(("systemctl", "daemon-reload")))
        # a unit waiting to be restarted after a crash is "activating" but not running
        active = seen.active in ("active", "reloading") or (
            seen.active == "activating" and seen.sub != "auto-restart")
        verb = self._verb(active)
        if verb:
            notes.append(f"{verb} {self.name}")
            actions.append(Run(("systemctl", verb, "--", self.name)))
        if self.enabled is not None and _is_enabled(seen.unit_file) != self.enabled:
            word = "enable" if self.enabled else "disable"
            notes.append(f"{word} {self.name}")
            actions.append(Run(("systemctl", word, "--", self.name)))
        if not notes:
            return ok(f"{self.name} {seen.active}")
        return change(", ".join(notes), *actions)

    def _verb(self, active: bool) -> str:
        if self.state == "running":
            return "" if active else "start"
        if self.state == "stopped":
            return "stop" if active else ""
        if self.state == "reloaded":
            return "reload-or-restart" if active else "start"
        if self.state == "restarted":
            return "restart"
        return ""

    def checks(self) -> list[Check]:
        def verify(host: Any) -> None:
            svc = host.service(self.name)
            if self.state in ("running", "reloaded", "restarted"):
                assert svc.is_running, f"service {self.name} is not running"
            if self.state == "stopped":
                assert not svc.is_running, f"service {self.name} is running"
            if self.enabled is not None:
                assert svc.is_enabled == self.enabled, f"service {self.name} enabled is {svc.is_enabled}"
        return [Check(f"service {self.name} {self.state or ''}".strip(), verify)]


def _is_enabled(unit_file_state: str) -> bool:
    """Whether a unit counts as enabled; static/indirect/generated units cannot be enabled or disabled."""
    return unit_file_state in ("enabled", "enabled-runtime", "static", "indirect", "generated", "alias")
