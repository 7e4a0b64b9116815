"""Editing part of a text file in place (line, block): read it whole, edit in Python, upload it whole."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from configurator.engine.actions import Upload, quote
from configurator.resources.base import Resource, Step, Unreadable, change, field_lines, ok, unknown
from configurator.resources.file import PathState, content_diff
from configurator.resources.sections import split_marked
from configurator.resources.touch import Touches, touches

MAX_SIZE = 1024 * 1024  # larger files are not edited in place (the step is unknown)

# One stat for type-independent metadata; `size` lets the shell decide whether to read the file.
_STAT = "stat --printf 'mode=%a\\nowner=%U\\ngroup=%G\\nsize=%s' -- \"$p\""

# Runs with $p set to the path: prints the file's metadata and content, or why it cannot be edited
_READ = (
    'if [ -L "$p" ]; then echo type=link\n'
    f'elif [ -f "$p" ] && s=$({_STAT}); then echo type=file; echo "$s"\n'
    f'  if [ "${{s##*size=}}" -gt {MAX_SIZE} ]; then echo too_large=1\n'
    '  elif c=$(base64 -w0 < "$p"); then echo "content_b64=$c"\n'
    "  else echo unreadable=1; fi\n"
    'elif [ -e "$p" ]; then echo type=other\n'
    "else echo type=absent; fi\n"
)

Edit = Callable[[list[str]], tuple[list[str], str]]  # lines -> (new lines, summary; "" = nothing to do)


@dataclass(frozen=True)
class TextState(PathState):
    """A text file to edit: `kind` is file, absent, link or other; `content` None when it was not read whole."""

    too_large: bool = False
    content: bytes | None = None


def parse(text: str) -> TextState:
    """The state `probe()` printed; content that is missing or not the size stat saw stays None."""
    seen = field_lines(text)
    return TextState(seen.get("type", ""), seen.get("mode", ""), seen.get("owner", ""), seen.get("group", ""),
                     "too_large" in seen, content(seen))


def probe(path: str) -> str:
    """sh that prints the file's metadata and its content (base64), or why it cannot be edited."""
    return f"p={quote(path)}\n{_READ}"


def batch_probe(paths: Sequence[str], mark: str) -> str:
    """sh that reads each distinct path once, each after a `mark` line."""
    return f"for p in {' '.join(quote(p) for p in dict.fromkeys(paths))}; do echo {quote(mark)}\n{_READ}done\n"


def batch_parse(paths: Sequence[str], text: str, mark: str) -> list[str]:
    """Per path (repeats too) the text `probe()` prints; all empty when the output does not line up."""
    unique = list(dict.fromkeys(paths))
    found = split_marked(text, mark)
    if len(found) != len(unique) + 1 or found[0].strip():
        return [""] * len(paths)
    by_path = dict(zip(unique, found[1:], strict=True))
    return [by_path[p] for p in paths]


class TextFileResource(Resource[TextState]):
    """For resources that edit the text file at `path`: batched, each distinct file read once."""

    batched: ClassVar[bool] = True
    path: str

    def touches(self) -> Touches:
        """Reads and writes the one file it edits."""
        return touches({("path", self.path)}, {("path", self.path)})

    def probe(self) -> str:
        return probe(self.path)

    def parse(self, text: str) -> TextState:
        return parse(text)

    def predict(self, observed: TextState, step: Step) -> TextState | None:
        """The file as its one upload leaves it (owner and group "" when whoever writes it owns it)."""
        if len(step.actions) != 1 or not isinstance(upload := step.actions[0], Upload) or upload.source:
            return None
        large = len(upload.content) > MAX_SIZE
        return TextState("file", upload.mode, upload.owner, upload.group, large, None if large else upload.content)

    @classmethod
    def batch_probe(cls, items: Sequence[Self], mark: str) -> str:
        """One read of each distinct file."""
        return batch_probe([item.path for item in items], mark)

    @classmethod
    def batch_parse(cls, items: Sequence[Self], text: str, mark: str) -> list[TextState | Unreadable]:
        """Per resource the state of its file."""
        return [parse(found) for found in batch_parse([item.path for item in items], text, mark)]


def plan(path: str, seen: TextState, edit: Edit, missing: Callable[[], Step]) -> Step:
    """The step that applies `edit` to the observed file, keeping its mode and owner."""
    kind = seen.kind
    if kind == "absent":
        return missing()
    if kind != "file":
        what = {"link": "a symlink (manage its target instead)", "other": "not a regular file"}
        return unknown(f"{path} is {what.get(kind, 'not described by the probe')}")
    if seen.too_large:
        return unknown(f"{path} is larger than {MAX_SIZE} bytes; refusing to edit it")
    old = seen.content
    if old is None:
        return unknown(f"{path} could not be read (or changed while it was read)")
    try:
        lines, summary = edit(split(old.decode("utf-8", "surrogateescape")))
    except ValueError as exc:
        return unknown(f"{path}: {exc}")
    if not summary:
        return ok()
    new = join(lines).encode("utf-8", "surrogateescape")
    # owner "" only in a predicted state (a file just created by whoever writes it): no chown then
    upload = Upload(path, new, f"{int(seen.mode or '644', 8):04o}", seen.owner, seen.group)
    return change(summary, upload, diff=content_diff(path, old, new))


def missing(path: str, absent: bool, create: bool, new: bytes, summary: str) -> Step:
    """The step for a file that does not exist: fine when it should not, created only when asked."""
    if absent:
        return ok(f"{path} does not exist")
    if not create:
        return unknown(f"{path} does not exist (set create: true to create it)")
    return change(summary, Upload(path, new, "0644", "", ""), diff=content_diff(path, None, new),
                  kind="create")


def content(seen: dict[str, str]) -> bytes | None:
    """The file content from the probe, or None when it is missing or inconsistent."""
    if "content_b64" not in seen:
        return None
    try:
        data = base64.b64decode(seen["content_b64"], validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if seen.get("size") == str(len(data)) else None


def split(text: str) -> list[str]:
    """Lines without their newlines (a final newline makes no extra empty line)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def join(lines: list[str]) -> str:
    """Lines back to text, each ending in a newline."""
    return "".join(f"{text}\n" for text in lines)
