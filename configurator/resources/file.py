"""Files, directories and symlinks: content, owner, group, mode, presence."""

from __future__ import annotations

import base64
import difflib
import hashlib
from dataclasses import dataclass, field, replace
from typing import ClassVar, Literal

from configurator.engine.actions import Run, Upload, quote
from configurator.resources.base import Check, Step, change, field_lines, ok, unknown
from configurator.resources.batchstat import parse_stat_many, parse_sums, stat_many, sums_many
from configurator.resources.private import noted, private_mode

DIFF_LIMIT = 256 * 1024  # larger changed files are reported without a content diff

# Runs with $p set to the path: its type, mode, owner and group as `key=value` lines.
STAT = "stat -c 'type=%F\nmode=%a\nowner=%U\ngroup=%G' -- \"$p\""


# a new link under a random name (ln -s never follows or replaces what is there), renamed over the path
LINK_SWITCH = ('t=$(mktemp -u -p "$3" .cfg-link-XXXXXXXXXX) && ln -s -- "$1" "$t" && '
               '{ mv -fT -- "$t" "$2" || { rm -f -- "$t"; exit 1; }; }')


def _as_text(fields: dict[str, str] | None) -> str:
    if fields is None:
        return "type=absent\n"
    return "".join(f"{key}={value}\n" for key, value in fields.items())


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


def metadata_actions(path: str, seen: dict[str, str], mode: str | None, owner: str | None,
                     group: str | None) -> tuple[list[str], list[Run]]:
    """What differs in mode/owner/group and the commands that fix it."""
    notes: list[str] = []
    actions: list[Run] = []
    wanted_owner = owner or seen.get("owner", "")
    wanted_group = group or seen.get("group", "")
    # chown first: it clears setuid/setgid bits that the chmod after it may set again
    if (wanted_owner, wanted_group) != (seen.get("owner"), seen.get("group")):
        notes.append(f"owner {seen.get('owner')}:{seen.get('group')} -> {wanted_owner}:{wanted_group}")
        actions.append(Run(("chown", f"{wanted_owner}:{wanted_group}", "--", path), at=path))
    if mode is not None and int(seen.get("mode", "0"), 8) != int(mode, 8):
        notes.append(f"mode {seen.get('mode')} -> {mode}")
        # a leading extra 0 makes GNU chmod clear a directory's inherited setgid bit too
        actions.append(Run(("chmod", "0" + mode, "--", path), at=path))
    return notes, actions


def metadata_step(path: str, seen: dict[str, str], mode: str | None, owner: str | None, group: str | None,
                  summary: str = "") -> Step:
    """The step that leaves a path with the right content as it is, fixing only mode/owner/group."""
    notes, actions = metadata_actions(path, seen, mode, owner, group)
    return change(", ".join(notes), *actions) if actions else ok(summary)


@dataclass(frozen=True)
class File:
    """A regular file with exact content (or absent).

    Example: `file: {path: /etc/motd, content: "hello\\n", mode: "0644"}`
    """

    path: str
    content: bytes = b""
    state: Literal["present", "absent"] = "present"
    owner: str | None = None
    group: str | None = None
    mode: str | None = None
    validate: tuple[str, ...] = ()
    # set by the catalog for a large `src`: the file is streamed from here, never held in memory
    source: str | None = field(default=None, metadata={"internal": True})
    source_sha256: str = field(default="", metadata={"internal": True})
    # set by the catalog when the content holds a vault secret and no `mode` is given
    private: bool = field(default=False, metadata={"internal": True})
    type: ClassVar[str] = "file"
    # probed with all other files in one `stat` and one `sha256sum` (old content fetched later if needed)
    batched: ClassVar[bool] = True

    @property
    def id(self) -> str:
        return f"{self.type}[{self.path}]"

    @property
    def sha256(self) -> str:
        return self.source_sha256 if self.source else hashlib.sha256(self.content).hexdigest()

    @staticmethod
    def batch_probe(files: list[File], mark: str) -> str:
        """sh for many files at once: metadata, `mark`, then checksums of the regular files only."""
        paths = [f.path for f in files]
        return f"{stat_many(paths)}echo {quote(mark)}\n{sums_many(paths)}"

    @staticmethod
    def batch_parse(files: list[File], text: str, mark: str) -> list[str]:
        """Per-file observed text in the form `probe()` prints (without old content)."""
        stats, _, sums_text = text.partition(f"{mark}\n")
        found, sums = parse_stat_many(stats), parse_sums(sums_text)
        result = []
        for f in files:
            fields = found.get(f.path)
            if fields is not None and f.path in sums and fields["type"] != "link":
                fields = {**fields, "sha256": sums[f.path]}
            result.append(_as_text(fields))
        return result

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

    def plan(self, observed: str) -> Step:
        seen = field_lines(observed)
        if self.private and self.mode is None and self.state == "present":
            mode = private_mode(seen)
            return noted(replace(self, mode=mode).plan(observed), seen, mode)
        kind = seen.get("type", "")
        if self.state == "absent":
            if kind == "absent":
                return ok()
            if kind == "directory":
                return unknown(f"{self.path} is a directory; use `directory: {{state: absent}}` to remove it")
            return change(f"remove {self.path}", Run(("rm", "-f", "--", self.path), at=self.path), kind="remove")
        if kind not in ("absent", "regular file", "regular empty file"):
            return unknown(f"{self.path} exists but is a {kind or 'thing the probe did not describe'}")
        upload = Upload(self.path, self.content, self.mode or seen.get("mode", "0644"),
                        self.owner or seen.get("owner", "root"), self.group or seen.get("group", "root"),
                        self.validate, self.source)
        if kind == "absent":
            diff = "" if self.source else content_diff(self.path, None, self.content)
            return change(f"create {self.path}", upload, diff=diff, kind="create")
        if seen.get("sha256") != self.sha256:
            summary = f"content of {self.path} changed"
            if "content_b64" not in seen:  # the batched probe sends no old content: ask for it if it matters
                return replace(change(summary, upload), needs_detail=not self.source)
            return change(summary, upload, diff=content_diff(self.path, base64.b64decode(seen["content_b64"]),
                                                              self.content))
        return metadata_step(self.path, seen, self.mode, self.owner, self.group)

    def checks(self) -> list[Check]:
        if self.state == "absent":
            return [Check(f"{self.path} is absent", lambda h: _assert(not h.file(self.path).exists))]
        return [Check(f"{self.path} content and metadata", self._verify)]

    def _verify(self, host: object) -> None:
        f = host.file(self.path)  # type: ignore[attr-defined]
        assert f.is_file, f"{self.path} is not a regular file"
        assert f.sha256sum == self.sha256, f"{self.path} content differs (sha256 {f.sha256sum})"
        if self.mode is not None:
            assert f.mode == int(self.mode, 8), f"{self.path} mode is {f.mode:o}, expected {self.mode}"
        if self.owner is not None:
            assert f.user == self.owner, f"{self.path} owner is {f.user}, expected {self.owner}"
        if self.group is not None:
            assert f.group == self.group, f"{self.path} group is {f.group}, expected {self.group}"


def _assert(condition: bool, message: str = "check failed") -> None:
    assert condition, message


@dataclass(frozen=True)
class Directory:
    """A directory with owner, group and mode (or absent, removed with its content)."""

    path: str
    state: Literal["present", "absent"] = "present"
    owner: str | None = None
    group: str | None = None
    mode: str | None = None
    type: ClassVar[str] = "directory"
    batched: ClassVar[bool] = True  # probed with all other directories in one `stat`

    @staticmethod
    def batch_probe(directories: list[Directory], mark: str) -> str:
        return stat_many([d.path for d in directories])

    @staticmethod
    def batch_parse(directories: list[Directory], text: str, mark: str) -> list[str]:
        found = parse_stat_many(text)
        return [_as_text(found.get(d.path)) for d in directories]

    @property
    def id(self) -> str:
        return f"{self.type}[{self.path}]"

    def probe(self) -> str:
        return f"p={quote(self.path)}\nif [ -e \"$p\" ] || [ -L \"$p\" ]; then {STAT}; else echo type=absent; fi\n"

    def plan(self, observed: str) -> Step:
        seen = field_lines(observed)
        kind = seen.get("type", "")
        if self.state == "absent":
            if kind == "absent":
                return ok()
            return change(f"remove {self.path}", Run(("rm", "-rf", "--", self.path), at=self.path), kind="remove")
        if kind == "absent":
            fresh = {"owner": "root", "group": "root", "mode": "-1"}  # mode may be inherited: always set it
            own = metadata_actions(self.path, fresh, self.mode or "0755", self.owner, self.group)
            mkdir = Run(("mkdir", "-p", "--", self.path), at=self.path)
            return change(f"create {self.path}", mkdir, *own[1], kind="create")
        if kind != "directory":
            return unknown(f"{self.path} exists but is a {kind}")
        return metadata_step(self.path, seen, self.mode, self.owner, self.group)

    def checks(self) -> list[Check]:
        def verify(host: object) -> None:
            d = host.file(self.path)  # type: ignore[attr-defined]
            if self.state == "absent":
                assert not d.exists, f"{self.path} exists"
                return
            assert d.is_directory, f"{self.path} is not a directory"
            if self.mode is not None:
                assert d.mode == int(self.mode, 8), f"{self.path} mode is {d.mode:o}, expected {self.mode}"
            if self.owner is not None:
                assert d.user == self.owner, f"{self.path} owner is {d.user}, expected {self.owner}"
        return [Check(f"directory {self.path}", verify)]


@dataclass(frozen=True)
class Link:
    """A symbolic link pointing at `target`, switched atomically (or absent)."""

    path: str
    target: str = ""
    state: Literal["present", "absent"] = "present"
    type: ClassVar[str] = "link"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.path}]"

    def probe(self) -> str:
        return (f"p={quote(self.path)}\nif [ -L \"$p\" ]; then echo \"target=$(readlink -- \"$p\")\"; "
                "elif [ -e \"$p\" ]; then echo type=other; else echo type=absent; fi\n")

    def plan(self, observed: str) -> Step:
        seen = field_lines(observed)
        if self.state == "absent":
            if "target" not in seen and seen.get("type") == "absent":
                return ok()
            if seen.get("type") == "other":
                return unknown(f"{self.path} is not a link; refusing to remove it")
            return change(f"remove link {self.path}", Run(("rm", "-f", "--", self.path), at=self.path),
                          kind="remove")
        if seen.get("target") == self.target:
            return ok()
        if seen.get("type") == "other":
            return unknown(f"{self.path} exists and is not a link")
        directory = self.path.rsplit("/", 1)[0] or "/"
        switch = Run(("sh", "-c", LINK_SWITCH, "sh", self.target, self.path, directory), at=self.path)
        old = seen.get("target")
        summary = f"link {self.path} -> {self.target}" + (f" (was {old})" if old else "")
        return change(summary, switch, kind="modify" if old else "create")

    def checks(self) -> list[Check]:
        def verify(host: object) -> None:
            f = host.file(self.path)  # type: ignore[attr-defined]
            if self.state == "absent":
                assert not f.exists and not f.is_symlink, f"{self.path} exists"
                return
            assert f.is_symlink, f"{self.path} is not a symlink"
            assert f.linked_to == self.target or host.check_output(  # type: ignore[attr-defined]
                "readlink -- %s", self.path) == self.target, f"{self.path} points elsewhere"
        return [Check(f"link {self.path} -> {self.target}", verify)]
