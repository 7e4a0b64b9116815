"""Files and directories: content, owner, group, mode, presence."""

from __future__ import annotations

import base64
import difflib
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal, Self

from configurator.engine.actions import Run, Upload, quote
from configurator.resources.base import Check, Resource, Step, Unreadable, change, field_lines, ok, unknown
from configurator.resources.batchstat import parse_stat_many, parse_sums, stat_many, sums_many
from configurator.resources.private import WHY, noted, private_mode
from configurator.resources.touch import Touches, owners, touches, with_parents

DIFF_LIMIT = 256 * 1024  # larger changed files are reported without a content diff

# Runs with $p set to the path: its type, mode, owner and group as `key=value` lines.
STAT = "stat -c 'type=%F\nmode=%a\nowner=%U\ngroup=%G' -- \"$p\""



@dataclass(frozen=True)
class PathState:
    """A path's type (`absent`, `regular file`, `directory`, `link`...), mode, owner and group."""

    kind: str = ""
    mode: str = ""
    owner: str = ""
    group: str = ""


@dataclass(frozen=True)
class FileState(PathState):
    """A path as File sees it: with the content's sha256, and the content itself when it was sent."""

    sha256: str = ""
    content: bytes | None = None


def path_state(fields: dict[str, str] | None) -> PathState:
    """The state `stat` described in `type=`/`mode=`/... fields (None: the path does not exist)."""
    if fields is None:
        return PathState("absent")
    return PathState(fields.get("type", ""), fields.get("mode", ""), fields.get("owner", ""), fields.get("group", ""))


def file_state(fields: dict[str, str] | None) -> FileState:
    """File's state from probe fields; old content arrives as base64 and is decoded here, once."""
    path = path_state(fields)
    fields = fields or {}
    content = base64.b64decode(fields["content_b64"]) if "content_b64" in fields else None
    return FileState(path.kind, path.mode, path.owner, path.group, fields.get("sha256", ""), content)


def content_diff(path: str, old: bytes | None, new: bytes) -> str:
    """A unified diff of two file contents, or a note when either is binary."""
    if old is None:
        old = b""
    try:
        before, after = old.decode("utf-8"), new.decode("utf-8")
    except UnicodeDecodeError:
        return f"binary content of {path} differs ({len(old)} -> {len(new)} bytes)\n"
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"{path} (host)", f"{path} (wanted)"
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def metadata_actions(path: str, seen: PathState, mode: str | None, owner: str | None,
                     group: str | None) -> tuple[list[str], list[Run]]:
    """What differs in mode/owner/group and the commands that fix it."""
    notes: list[str] = []
    actions: list[Run] = []
    wanted_owner = owner or seen.owner
    wanted_group = group or seen.group
    # chown first: it clears setuid/setgid bits that the chmod after it may set again
    if (wanted_owner, wanted_group) != (seen.owner, seen.group):
        notes.append(f"owner {seen.owner}:{seen.group} -> {wanted_owner}:{wanted_group}")
        actions.append(Run(("chown", f"{wanted_owner}:{wanted_group}", "--", path), at=path))
    if mode is not None and int(seen.mode or "0", 8) != int(mode, 8):
        notes.append(f"mode {seen.mode} -> {mode}")
        # a leading extra 0 makes GNU chmod clear a directory's inherited setgid bit too
        actions.append(Run(("chmod", "0" + mode, "--", path), at=path))
    return notes, actions


def metadata_step(path: str, seen: PathState, mode: str | None, owner: str | None, group: str | None,
                  summary: str = "") -> Step:
    """The step that leaves a path with the right content as it is, fixing only mode/owner/group."""
    notes, actions = metadata_actions(path, seen, mode, owner, group)
    return change(", ".join(notes), *actions) if actions else ok(summary)


@dataclass(frozen=True)
class File(Resource[FileState]):
    """A regular file with exact content (or absent).

    Example: `file: {path: /etc/motd, content: "hello\\n", mode: "0644"}`
    """

    path: str
    content: bytes = b""
    state: Literal["present", "absent"] = "present"
    owner: str | None = None
    group: str | None = None
    mode: str | None = None
    validator: tuple[str, ...] = field(default=(), metadata={"arg": "validate"})  # `validate:` in role.yml
    # set by the catalog for a large `src`: the file is streamed from here, never held in memory
    source: str | None = field(default=None, metadata={"internal": True})
    source_sha256: str = field(default="", metadata={"internal": True})
    # set by the catalog when the content holds a vault secret and no `mode` is given
    private: bool = field(default=False, metadata={"internal": True})
    type: ClassVar[str] = "file"
    # probed with all other files in one `stat` and one `sha256sum` (old content fetched later if needed)
    batched: ClassVar[bool] = True
    source_folder: ClassVar[str] = "files"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.path}]"

    @property
    def sha256(self) -> str:
        return self.source_sha256 if self.source else hashlib.sha256(self.content).hexdigest()

    @classmethod
    def batch_probe(cls, items: Sequence[Self], mark: str) -> str:
        """sh for many files at once: metadata, `mark`, then checksums of the regular files only."""
        paths = [f.path for f in items]
        return f"{stat_many(paths)}echo {quote(mark)}\n{sums_many(paths)}"

    @classmethod
    def batch_parse(cls, items: Sequence[Self], text: str, mark: str) -> list[FileState | Unreadable]:
        """Each file's state (without old content) from one `stat` and one `sha256sum`."""
        stats, _, sums_text = text.partition(f"{mark}\n")
        found, sums = parse_stat_many(stats), parse_sums(sums_text)
        result: list[FileState | Unreadable] = []
        for f in items:
            fields = found.get(f.path)
            if fields is not None and f.path in sums and fields["type"] != "link":
                fields = {**fields, "sha256": sums[f.path]}
            result.append(file_state(fields))
        return result

    def touches(self) -> Touches:
        """Reads its path (and the accounts it names); writes the path, or all beneath it when removing
        (the path may be a symlink)."""
        written = ("path", self.path) if self.state == "present" else ("tree", self.path)
        return touches({("path", self.path), *owners(self.owner, self.group)}, {written})

    def probe(self) -> str:
        want = self.sha256 if self.state == "present" else "-"
        return (
            f"p={quote(self.path)}\n"
            'if [ -L "$p" ]; then echo type=link; elif [ -f "$p" ]; then ' + STAT + "\n"
            '  s=$(sha256sum < "$p") && s=${s%% *} && echo "sha256=$s"\n'
            f'  if [ "$s" != {want} ] && [ $(stat -c %s -- "$p") -le {DIFF_LIMIT} ]; then '
            'echo "content_b64=$(base64 -w0 < "$p")"; fi\n'
            'elif [ -e "$p" ]; then ' + STAT + '\nelse echo type=absent; fi\n'
        )

    def parse(self, text: str) -> FileState:
        return file_state(field_lines(text))

    def guarding(self, holds_secret: Callable[[str], bool]) -> File:
        """Kept private (0600) when its content holds a vault value and it sets no `mode`."""
        if self.mode is not None or not holds_secret(self.content.decode("utf-8", errors="replace")):
            return self
        return replace(self, private=True)

    def plan(self, observed: FileState) -> Step:
        seen = observed
        if self.private and self.mode is None and self.state == "present":
            mode = private_mode(seen.kind, seen.mode)
            return noted(replace(self, mode=mode).plan(observed), seen.mode, mode)
        kind = seen.kind
        if self.state == "absent":
            if kind == "absent":
                return ok()
            if kind == "directory":
                return unknown(f"{self.path} is a directory; use `directory: {{state: absent}}` to remove it")
            return change(f"remove {self.path}", Run(("rm", "-f", "--", self.path), at=self.path), kind="remove")
        if kind not in ("absent", "regular file", "regular empty file"):
            return unknown(f"{self.path} exists but is a {kind or 'thing the probe did not describe'}")
        upload = Upload(self.path, self.content, self.mode or seen.mode or "0644",
                        # unset on a new file: whoever creates it (root, or the user who owns the directory)
                        self.owner or seen.owner or "", self.group or seen.group or "",
                        self.validator, self.source)
        if kind == "absent":
            diff = "" if self.source else content_diff(self.path, None, self.content)
            return change(f"create {self.path}", upload, diff=diff, kind="create")
        if seen.sha256 != self.sha256:
            summary = f"content of {self.path} changed"
            if seen.content is None:  # the batched probe sends no old content: ask for it if it matters
                return replace(change(summary, upload), needs_detail=not self.source)
            return change(summary, upload, diff=content_diff(self.path, seen.content, self.content))
        return metadata_step(self.path, seen, self.mode, self.owner, self.group)

    def checks(self) -> list[Check]:
        if self.state == "absent":
            return [Check(f"{self.path} is absent", lambda h: _assert(not h.file(self.path).exists))]
        return [Check(f"{self.path} content and metadata", self._verify)]

    def _verify(self, host: Any) -> None:
        f = host.file(self.path)
        assert f.is_file, f"{self.path} is not a regular file"
        assert f.sha256sum == self.sha256, f"{self.path} content differs (sha256 {f.sha256sum})"
        if self.mode is not None:
            assert f.mode == int(self.mode, 8), f"{self.path} mode is {f.mode:o}, expected {self.mode}"
        elif self.private:
            assert not f.mode & 0o077, f"{self.path} mode is {f.mode:o}: readable by group or others ({WHY})"
        if self.owner is not None:
            assert f.user == self.owner, f"{self.path} owner is {f.user}, expected {self.owner}"
        if self.group is not None:
            assert f.group == self.group, f"{self.path} group is {f.group}, expected {self.group}"


def _assert(condition: bool, message: str = "check failed") -> None:
    assert condition, message


@dataclass(frozen=True)
class Directory(Resource[PathState]):
    """A directory with owner, group and mode (or absent, removed with its content)."""

    path: str
    state: Literal["present", "absent"] = "present"
    owner: str | None = None
    group: str | None = None
    mode: str | None = None
    type: ClassVar[str] = "directory"
    batched: ClassVar[bool] = True  # probed with all other directories in one `stat`

    @classmethod
    def batch_probe(cls, items: Sequence[Self], mark: str) -> str:
        return stat_many([d.path for d in items])

    @classmethod
    def batch_parse(cls, items: Sequence[Self], text: str, mark: str) -> list[PathState | Unreadable]:
        found = parse_stat_many(text)
        return [path_state(found.get(d.path)) for d in items]

    @property
    def id(self) -> str:
        return f"{self.type}[{self.path}]"

    def touches(self) -> Touches:
        """Reads its path; `mkdir -p` writes it and the directories above it, removal all beneath it."""
        written = with_parents(self.path) if self.state == "present" else {("tree", self.path)}
        return touches({("path", self.path), *owners(self.owner, self.group)}, written)

    def probe(self) -> str:
        return f"p={quote(self.path)}\nif [ -e \"$p\" ] || [ -L \"$p\" ]; then {STAT}; else echo type=absent; fi\n"

    def parse(self, text: str) -> PathState:
        return path_state(field_lines(text))

    def plan(self, observed: PathState) -> Step:
        seen = observed
        kind = seen.kind
        if self.state == "absent":
            if kind == "absent":
                return ok()
            return change(f"remove {self.path}", Run(("rm", "-rf", "--", self.path), at=self.path), kind="remove")
        if kind == "absent":
            fresh = PathState(kind, "-1", "root", "root")  # mode may be inherited: always set it
            own = metadata_actions(self.path, fresh, self.mode or "0755", self.owner, self.group)
            mkdir = Run(("mkdir", "-p", "--", self.path), at=self.path)
            return change(f"create {self.path}", mkdir, *own[1], kind="create")
        if kind != "directory":
            return unknown(f"{self.path} exists but is a {kind}")
        return metadata_step(self.path, seen, self.mode, self.owner, self.group)

    def checks(self) -> list[Check]:
        def verify(host: Any) -> None:
            d = host.file(self.path)
            if self.state == "absent":
                assert not d.exists, f"{self.path} exists"
                return
            assert d.is_directory, f"{self.path} is not a directory"
            if self.mode is not None:
                assert d.mode == int(self.mode, 8), f"{self.path} mode is {d.mode:o}, expected {self.mode}"
            if self.owner is not None:
                assert d.user == self.owner, f"{self.path} owner is {d.user}, expected {self.owner}"
        return [Check(f"directory {self.path}", verify)]
