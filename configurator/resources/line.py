"""One line in a text file: present (optionally replacing a `regexp` match) or absent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from configurator.resources import textfile
from configurator.resources.base import Check, Step


@dataclass(frozen=True)
class Line(textfile.TextFileResource):
    """One line of a text file, edited in place; the rest of the file is kept.

    Example: `line: {path: /etc/default/grub, regexp: "^GRUB_TIMEOUT=", line: GRUB_TIMEOUT=2}`

    `regexp` (Python syntax) selects the line to replace: the last matching line becomes
    `line`. Without a match the line is inserted after the last match of `insertafter`
    (default `EOF`) or before the last match of `insertbefore` (`BOF` for the top); an
    exact copy of `line` anywhere in the file counts as present. `state: absent` removes
    every line equal to `line` and every line matching `regexp`. Files over 1 MiB and
    symlinks are refused; name the link's target instead.
    """

    path: str
    line: str | None = None
    regexp: str | None = None
    state: Literal["present", "absent"] = "present"
    create: bool = False
    insertafter: str | None = None
    insertbefore: str | None = None
    type: ClassVar[str] = "line"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.path}: {self.line if self.line is not None else self.regexp}]"

    def validate(self) -> list[str]:
        problems: list[str] = []
        if not self.path.startswith("/"):
            problems.append(f"path {self.path!r} must be absolute")
        if self.line is not None and ("\n" in self.line or "\r" in self.line):
            problems.append("line must be a single line (no newline characters)")
        if self.state == "present" and self.line is None:
            problems.append("state present needs `line` (the text to put in the file)")
        if self.state == "absent" and self.line is None and self.regexp is None:
            problems.append("state absent needs `line` or `regexp` (what to remove)")
        if self.insertafter is not None and self.insertbefore is not None:
            problems.append("give either insertafter or insertbefore, not both")
        for name, pattern in (("regexp", self.regexp), ("insertafter", self.insertafter),
                              ("insertbefore", self.insertbefore)):
            if pattern is not None and pattern not in ("EOF", "BOF"):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    problems.append(f"{name} {pattern!r} is not a valid regular expression: {exc}")
        return problems

    def plan(self, observed: textfile.TextState) -> Step:
        return textfile.plan(self.path, observed, self.edit, self._plan_missing)

    def _plan_missing(self) -> Step:
        new = f"{self.line}\n".encode("utf-8", "surrogateescape")
        summary = f"create {self.path} with the line"
        return textfile.missing(self.path, self.state == "absent", self.create, new, summary)

    def edit(self, lines: list[str]) -> tuple[list[str], str]:
        """The file's lines after the edit, and a summary (empty when nothing changes)."""
        if self.state == "absent":
            kept = [text for text in lines if not self._unwanted(text)]
            removed = len(lines) - len(kept)
            return kept, (f"remove {removed} line{'s' if removed > 1 else ''} from {self.path}"
                          if removed else "")
        line = self.line or ""
        hit = _last_match(self.regexp, lines) if self.regexp is not None else None
        if hit is not None:
            if lines[hit] == line:
                return lines, ""
            return lines[:hit] + [line] + lines[hit + 1:], f"replace line {hit + 1} of {self.path}"
        if line in lines:
            return lines, ""
        at = self._insert_at(lines)
        return lines[:at] + [line] + lines[at:], f"add line {at + 1} to {self.path}"

    def _unwanted(self, text: str) -> bool:
        if self.line is not None and text == self.line:
            return True
        return self.regexp is not None and re.search(self.regexp, text) is not None

    def _insert_at(self, lines: list[str]) -> int:
        if self.insertbefore == "BOF":
            return 0
        if self.insertbefore is not None:
            hit = _last_match(self.insertbefore, lines)
            return len(lines) if hit is None else hit
        if self.insertafter is not None and self.insertafter != "EOF":
            hit = _last_match(self.insertafter, lines)
            return len(lines) if hit is None else hit + 1
        return len(lines)

    def checks(self) -> list[Check]:
        return [Check(f"{self.path} {'has' if self.state == 'present' else 'lacks'} "
                      f"{self.line if self.line is not None else self.regexp!r}", self._verify)]

    def _verify(self, host: Any) -> None:
        f = host.file(self.path)
        if self.state == "absent" and not f.exists:
            return
        assert f.is_file, f"{self.path} is not a regular file"
        lines = textfile.split(f.content.decode("utf-8", "surrogateescape"))
        if self.state == "present":
            assert self.line in lines, f"{self.path} does not contain the line {self.line!r}"
            return
        found = [text for text in lines if self._unwanted(text)]
        assert not found, f"{self.path} still contains {found[0]!r}"


def _last_match(pattern: str, lines: list[str]) -> int | None:
    hits = [i for i, text in enumerate(lines) if re.search(pattern, text)]
    return hits[-1] if hits else None

