"""Local groups through the shadow tools (groupadd, groupmod, groupdel)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

from configurator.engine.actions import Run
from configurator.resources import accounts
from configurator.resources.accounts import Lookup
from configurator.resources.base import Check, Resource, Step, Unreadable, change, field_lines, ok, unknown
from configurator.resources.touch import Touches, touches


@dataclass(frozen=True)
class Group(Resource[Lookup]):
    """A local group, optionally with a fixed gid.

    Example: `group: {name: deploy, gid: 2000}`
    """

    name: str
    state: Literal["present", "absent"] = "present"
    gid: int | None = None
    system: bool = False
    type: ClassVar[str] = "group"
    batched: ClassVar[bool] = True  # probed with the other groups in one `getent group`

    @property
    def id(self) -> str:
        return f"{self.type}[{self.name}]"

    def validate(self) -> list[str]:
        problems = accounts.name_problems("group", self.name)
        if self.gid is not None and not 0 <= self.gid < 2**32 - 1:
            problems.append(f"gid {self.gid} is out of range")
        return problems

    @classmethod
    def batch_probe(cls, items: Sequence[Self], mark: str) -> str:
        """One `getent group` for many groups."""
        return accounts.many("group", [g.name for g in items], mark)

    @classmethod
    def batch_parse(cls, items: Sequence[Self], text: str, mark: str) -> list[Lookup | Unreadable]:
        """Each group's entry from the one `getent group`."""
        return list(accounts.matched([g.name for g in items], accounts.results(text, mark)))

    def touches(self) -> Touches:
        """Reads and writes the group (its entry in /etc/group and /etc/gshadow)."""
        files = {("path", "/etc/group"), ("path", "/etc/gshadow")}
        return touches({("group", self.name)}, {("group", self.name), *files})

    def probe(self) -> str:
        return accounts.one("group", self.name, "group")

    def parse(self, text: str) -> Lookup:
        return accounts.lookup(field_lines(text), "group")

    def plan(self, observed: Lookup) -> Step:
        if observed.error:
            return unknown(f"group {self.name}: the group database could not be read")
        entry = observed.entry
        if self.state == "absent":
            if entry is None:
                return ok()
            return change(f"remove group {self.name}", Run(("groupdel", "--", self.name)), kind="remove")
        gid = ("--gid", str(self.gid)) if self.gid is not None else ()
        if entry is None:
            system = ("--system",) if self.system else ()
            create = Run(("groupadd", *system, *gid, "--", self.name))
            return change(f"create group {self.name}", create, kind="create")
        current = entry.split(":")[2] if entry.count(":") == 3 else "?"
        if gid and current != gid[1]:
            return change(f"group {self.name} gid {current} -> {self.gid}",
                          Run(("groupmod", *gid, "--", self.name)))
        return ok()

    def checks(self) -> list[Check]:
        def verify(host: Any) -> None:
            group = host.group(self.name)
            if self.state == "absent":
                assert not group.exists, f"group {self.name} exists"
                return
            assert group.exists, f"group {self.name} does not exist"
            if self.gid is not None:
                assert group.gid == self.gid, \
                    f"group {self.name} gid is {group.gid}, expected {self.gid}"
        return [Check(f"group {self.name} {self.state}", verify)]
