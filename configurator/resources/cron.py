"""Cron jobs as files in /etc/cron.d, one file per job, written through File."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from configurator.resources.accounts import name_problems
from configurator.resources.base import Check, Resource, Step
from configurator.resources.file import File, FileState
from configurator.resources.touch import Touches

CRON_DIR = "/etc/cron.d"
FILE_NAME = re.compile(r"^[A-Za-z0-9_-]+\Z")  # cron ignores names with dots or other characters
MACROS = ("@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
FIELD = re.compile(r"^[0-9A-Za-z*/,-]+\Z")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
HEADER = "# managed by configurator: local changes are overwritten\n"


@dataclass(frozen=True)
class Cron(Resource[FileState]):
    """A cron job in /etc/cron.d/<name> (mode 0644, root:root).

    Example: `cron: {name: backup, schedule: "30 2 * * *", command: /usr/local/bin/backup}`

    `command` is a shell command line, run by cron with /bin/sh (or `SHELL` from `env`)
    exactly as written: quote for the shell yourself, and write `%` as `\\%` (cron turns a
    bare `%` into a newline). `env` lines (MAILTO, PATH, ...) come first in the file.
    """

    name: str
    schedule: str = ""
    command: str = ""
    user: str = "root"
    env: dict[str, str] = field(default_factory=dict, hash=False)
    state: Literal["present", "absent"] = "present"
    type: ClassVar[str] = "cron"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.name}]"

    def content(self) -> bytes:
        """The whole file: header, environment, the job line."""
        lines = [HEADER, *(f"{key}={value}\n" for key, value in self.env.items())]
        lines.append(f"{' '.join(self.schedule.split())} {self.user} {self.command}\n")
        return "".join(lines).encode("utf-8")

    def file(self) -> File:
        """The File that holds the job; probe and plan are its own."""
        return File(f"{CRON_DIR}/{self.name}", self.content(), self.state, "root", "root", "0644")

    def validate(self) -> list[str]:
        problems: list[str] = []
        if not FILE_NAME.match(self.name):
            problems.append(f"cron name {self.name!r} may only use letters, digits, '_' and '-' "
                            "(cron skips other file names)")
        if self.state == "absent":
            return problems
        problems += self._schedule_problems() + name_problems("user", self.user)
        if not self.command.strip() or "\n" in self.command:
            problems.append("command must be one non-empty line")
        for key, value in self.env.items():
            if not ENV_NAME.match(key) or "\n" in value:
                problems.append(f"env {key}: the name must be a shell variable name, the value one line")
        return problems

    def _schedule_problems(self) -> list[str]:
        fields = self.schedule.split()
        if len(fields) == 1 and fields[0].startswith("@"):
            if fields[0] in MACROS:
                return []
            return [f"schedule {fields[0]!r} is not one of {', '.join(MACROS)}"]
        if len(fields) != 5:
            return [f"schedule {self.schedule!r} must have 5 fields (minute hour day month weekday) "
                    f"or be one of {', '.join(MACROS)}; it has {len(fields)}"]
        bad = [f for f in fields if not FIELD.match(f)]
        return [f"schedule field {bad[0]!r} is not a cron field"] if bad else []

    def touches(self) -> Touches:
        """The job's file under /etc/cron.d, as File declares it."""
        return self.file().touches()

    def probe(self) -> str:
        return self.file().probe()

    def parse(self, text: str) -> FileState:
        return self.file().parse(text)

    def plan(self, observed: FileState) -> Step:
        return self.file().plan(observed)

    def checks(self) -> list[Check]:
        return self.file().checks()
