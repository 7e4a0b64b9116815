"""env_var: one NAME=value line in an environment file (a resource plugin; see docs/plugins.md)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from configurator.engine.actions import Upload, quote
from configurator.resources.base import Check, Resource, Step, change, field_lines, ok, unknown
from configurator.resources.file import content_diff

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Runs with $p set to the path: the file's mode and content (base64, one line), or what is there instead
_READ = """\
if [ -f "$p" ] && [ ! -L "$p" ]; then stat -c 'mode=%a' -- "$p"; printf 'content='; base64 -w0 < "$p"; echo
elif [ -e "$p" ] || [ -L "$p" ]; then echo kind=other
else echo kind=absent; fi
"""


@dataclass(frozen=True)
class EnvFile:
    """What the probe saw: the kind of thing at the path, its mode and its lines."""

    kind: str  # file | absent | other
    mode: str = ""
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnvVar(Resource[EnvFile]):
    """One `NAME=value` line in an environment file such as /etc/default/myapp; other lines are kept.

    Example: `env_var: {path: /etc/default/myapp, name: PORT, value: "8080"}`

    The first `NAME=` line takes the value and later ones are removed; without one, the line is
    appended (and the file created with `mode`). A symlink or a non-file at `path` is left alone.
    """

    path: str
    name: str
    value: str
    mode: str = "0644"
    type: ClassVar[str] = "env_var"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.path}: {self.name}]"

    @property
    def line(self) -> str:
        return f"{self.name}={self.value}"

    def validate(self) -> list[str]:
        problems = []
        if not NAME.match(self.name):
            problems.append(f"name {self.name!r} must be letters, digits and '_', not starting with a digit")
        if any(c in self.value for c in "\n\r\0"):
            problems.append("value must be one line")
        return problems

    def probe(self) -> str:
        return f"p={quote(self.path)}\n{_READ}"

    def parse(self, text: str) -> EnvFile:
        # bad base64 or a file that is not UTF-8 raise ValueError: the engine reports the step unknown
        seen = field_lines(text)
        if "content" not in seen:
            return EnvFile(seen["kind"])
        content = base64.b64decode(seen["content"], validate=True).decode("utf-8")
        return EnvFile("file", seen["mode"].zfill(4), tuple(content.splitlines()))

    def plan(self, observed: EnvFile) -> Step:
        if observed.kind not in ("file", "absent"):
            return unknown(f"{self.path} is not a regular file ({observed.kind})")
        lines = self.edited(observed.lines)
        if observed.kind == "file" and lines == observed.lines and observed.mode == self.mode:
            return ok(self.line)
        old = "".join(f"{text}\n" for text in observed.lines).encode()
        new = "".join(f"{text}\n" for text in lines).encode()
        summary = f"{self.path}: set {self.line}" if new != old else f"{self.path}: mode {observed.mode} -> {self.mode}"
        return change(summary, Upload(self.path, new, mode=self.mode), diff=content_diff(self.path, old, new),
                      kind="create" if observed.kind == "absent" else "modify")

    def edited(self, lines: tuple[str, ...]) -> tuple[str, ...]:
        """The file's lines with exactly one `NAME=` line, holding the value, where the first one was."""
        prefix = f"{self.name}="
        kept = [text for text in lines if not text.startswith(prefix)]
        first = next((i for i, text in enumerate(lines) if text.startswith(prefix)), None)
        if first is None:
            return (*kept, self.line)
        before = sum(1 for text in lines[:first] if not text.startswith(prefix))
        return (*kept[:before], self.line, *kept[before:])

    def checks(self) -> list[Check]:
        return [Check(f"{self.path} sets {self.line}", self._verify)]

    def _verify(self, host: Any) -> None:
        found = [text for text in host.file(self.path).content_string.splitlines()
                 if text.startswith(f"{self.name}=")]
        assert found == [self.line], f"{self.path}: {self.name} lines are {found!r}, expected [{self.line!r}]"


RESOURCES = {"env_var": EnvVar}
