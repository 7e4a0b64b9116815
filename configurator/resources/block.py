"""A block of lines between marker comments in a text file; the rest of the file is kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from configurator.resources import textfile
from configurator.resources.base import Check, Step


@dataclass(frozen=True)
class Block(textfile.TextFileResource):
    """Lines kept between `# BEGIN <marker>` and `# END <marker>` in a text file.

    Example: `block: {path: /etc/hosts, marker: "configurator hosts", content: "10.0.0.1 db\\n"}`

    The block is replaced where it is, or appended at the end of the file when it is not
    there yet; everything outside the markers is left alone. `state: absent` removes the
    block with its markers. A missing file is created (0644 root:root) only with
    `create: true`. Symlinks and files over 1 MiB are refused.
    """

    path: str
    content: str = ""
    marker: str = "configurator"
    state: Literal["present", "absent"] = "present"
    create: bool = False
    type: ClassVar[str] = "block"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.path}: {self.marker}]"

    @property
    def begin(self) -> str:
        return f"# BEGIN {self.marker}"

    @property
    def end(self) -> str:
        return f"# END {self.marker}"

    def validate(self) -> list[str]:
        problems: list[str] = []
        if not self.marker.strip() or "\n" in self.marker or "\r" in self.marker:
            problems.append("marker must be one non-empty line")
        inner = textfile.split(self.content)
        if self.begin in inner or self.end in inner:
            problems.append("content must not contain the block's own marker lines")
        if "\0" in self.content:
            problems.append("content must not contain NUL bytes")
        return problems

    def block_lines(self) -> list[str]:
        """The block as it should appear, markers included."""
        return [self.begin, *textfile.split(self.content), self.end]

    def plan(self, observed: textfile.TextState) -> Step:
        return textfile.plan(self.path, observed, self.edit, self._plan_missing)

    def _plan_missing(self) -> Step:
        new = textfile.join(self.block_lines()).encode("utf-8", "surrogateescape")
        return textfile.missing(self.path, self.state == "absent", self.create, new,
                                f"create {self.path} with block {self.marker!r}")

    def edit(self, lines: list[str]) -> tuple[list[str], str]:
        """The file's lines after the edit and a summary (empty when nothing changes)."""
        span = self.find(lines)
        if self.state == "absent":
            if span is None:
                return lines, ""
            return lines[:span[0]] + lines[span[1] + 1:], f"remove block {self.marker!r} from {self.path}"
        wanted = self.block_lines()
        if span is None:
            return lines + wanted, f"add block {self.marker!r} to {self.path}"
        start, stop = span
        if lines[start:stop + 1] == wanted:
            return lines, ""
        return lines[:start] + wanted + lines[stop + 1:], f"update block {self.marker!r} in {self.path}"

    def find(self, lines: list[str]) -> tuple[int, int] | None:
        """Indexes of the BEGIN and END lines, or None; a half or repeated block is an error."""
        begins = [i for i, text in enumerate(lines) if text.rstrip() == self.begin]
        ends = [i for i, text in enumerate(lines) if text.rstrip() == self.end]
        if not begins and not ends:
            return None
        if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
            raise ValueError(f"the markers of block {self.marker!r} are unbalanced or repeated "
                             f"({len(begins)} BEGIN, {len(ends)} END); fix the file by hand")
        return begins[0], ends[0]

    def checks(self) -> list[Check]:
        return [Check(f"{self.path} block {self.marker!r} {self.state}", self._verify)]

    def _verify(self, host: Any) -> None:
        f = host.file(self.path)
        if self.state == "absent" and not f.exists:
            return
        assert f.is_file, f"{self.path} is not a regular file"
        lines = textfile.split(f.content.decode("utf-8", "surrogateescape"))
        span = self.find(lines)
        if self.state == "absent":
            assert span is None, f"{self.path} still has block {self.marker!r}"
            return
        assert span is not None, f"{self.path} has no block {self.marker!r}"
        assert lines[span[0]:span[1] + 1] == self.block_lines(), f"{self.path} block {self.marker!r} differs"


