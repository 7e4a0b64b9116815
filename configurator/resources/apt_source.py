"""apt repositories: a deb822 `.sources` file with `Signed-By` naming the key file installed beside it."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from configurator.engine.actions import Action, Run, Upload, quote
from configurator.resources import openpgp
from configurator.resources.apt_lists import MARK_STALE
from configurator.resources.base import Check, Resource, Step, change, field_lines, ok, unknown
from configurator.resources.batchstat import parse_stat_many, stat_many
from configurator.resources.file import FileState, content_diff, path_state
from configurator.resources.touch import Touches, touches

SOURCES_DIR = "/etc/apt/sources.list.d"
KEYRINGS = "/etc/apt/keyrings"  # not there before apt 2.4 (bullseye): made when a key is written
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")  # what apt reads in sources.list.d (others are ignored)
URI = re.compile(r"^[a-z][a-z0-9+.-]*:\S+\Z")
WORD = re.compile(r"^\S+\Z")
REGULAR = "regular file"


@dataclass(frozen=True)
class SourceState:
    """The `.sources` file and the key file as the probe saw them, and whether the keyrings folder exists."""

    sources: FileState
    key: FileState
    keyrings: bool = True


@dataclass(frozen=True)
class AptSource(Resource[SourceState]):
    """An apt repository: /etc/apt/sources.list.d/NAME.sources (deb822) whose `Signed-By` is the
    key file /etc/apt/keyrings/NAME.gpg, which it installs too (`state: absent` removes both).

    Example: `apt_source: {name: nodesource, uris: [https://deb.nodesource.com/node_20.x], suites:
    [nodistro], src: nodesource.asc, fingerprint: "6F71 F525 2828 41EE DAF8 51B4 2F59 B5F9 9B1B E0B4"}`

    The key is given inline (`key:`, an ASCII-armored block) or as a file in the role's `files/`
    (`src:`, armored or binary); an armored key is dearmored on the control machine, so the host
    needs no gpg. A pinned `fingerprint` must be the one primary key in the key (subkeys aside):
    anything else is refused before any connection. A change to the source or its key makes the
    next package install refresh apt's lists first, whatever their age. A suite ending in `/` is a
    flat repository and takes no components.
    """

    name: str
    uris: tuple[str, ...] = ()
    suites: tuple[str, ...] = ()
    components: tuple[str, ...] = ("main",)
    types: tuple[str, ...] = ("deb",)
    architectures: tuple[str, ...] = ()
    key: str | None = None  # an ASCII-armored public key block
    fingerprint: str | None = None
    state: Literal["present", "absent"] = "present"
    content: bytes = field(default=b"", metadata={"internal": True})  # `src:` read from files/ by the catalog
    # what the catalog sets for a `src:` over 1 MiB (streamed for files; refused here)
    source: str | None = field(default=None, metadata={"internal": True})
    source_sha256: str = field(default="", metadata={"internal": True})
    type: ClassVar[str] = "apt_source"
    source_folder: ClassVar[str] = "files"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.name}]"

    @property
    def sources_path(self) -> str:
        return f"{SOURCES_DIR}/{self.name}.sources"

    @property
    def key_path(self) -> str:
        return f"{KEYRINGS}/{self.name}.gpg"

    def validate(self) -> list[str]:
        problems = [] if NAME.match(self.name) else [f"name {self.name!r} must be letters, digits, '_', '.', '-'"]
        if self.state == "present":
            problems += self._entry_problems() + self._key_problems()
        return problems

    def _entry_problems(self) -> list[str]:
        """What apt would refuse or misread in the deb822 entry."""
        problems = [f"{what} must not be empty" for what, values in (("uris", self.uris), ("suites", self.suites),
                                                                     ("types", self.types)) if not values]
        problems += [f"uri {uri!r} is not a URI (scheme:rest, no spaces)" for uri in self.uris if not URI.match(uri)]
        problems += [f"type {t!r} is neither deb nor deb-src" for t in self.types if t not in ("deb", "deb-src")]
        words = (*self.suites, *self.components, *self.architectures)
        problems += [f"{word!r} must be one word" for word in words if not WORD.match(word)]
        flat = [s for s in self.suites if s.endswith("/")]
        if flat and self.components:
            problems.append(f"suite {flat[0]!r} is a flat repository (ends in /): set components: []")
        if self.suites and not flat and not self.components:
            problems.append("components must not be empty (unless the suite ends in /)")
        return problems

    def _key_problems(self) -> list[str]:
        """A missing, unreadable or unpinned-as-said key: refused before any connection."""
        if self.source is not None:
            return ["the key file is over 1 MiB: that is not a repository key"]
        if (self.key is None) == (not self.content):
            return ["give the key inline (key:) or as a file in files/ (src:), one of them"]
        try:
            found = openpgp.primary_fingerprints(self.key_bytes)
        except openpgp.BadKey as exc:
            return [f"key: {exc}"]
        if self.fingerprint is None:
            return []
        pinned = openpgp.normal(self.fingerprint)
        if not openpgp.FINGERPRINT.match(pinned):
            return [f"fingerprint {self.fingerprint!r} is not 40 (or 64) hexadecimal digits"]
        if found != [pinned]:
            return [f"the key's fingerprint is {', '.join(found)}, not the pinned {pinned}"]
        return []

    @property
    def key_bytes(self) -> bytes:
        """The key file's content: binary OpenPGP packets (raises openpgp.BadKey on garbage)."""
        if self.key is not None:  # inline text can only be armored
            return openpgp.dearmor(self.key)
        return openpgp.key_bytes(self.content)

    def render(self) -> str:
        """The deb822 stanza."""
        fields = [("Types", self.types), ("URIs", self.uris), ("Suites", self.suites),
                  ("Components", self.components), ("Architectures", self.architectures),
                  ("Signed-By", (self.key_path,))]
        return "".join(f"{name}: {' '.join(values)}\n" for name, values in fields if values)

    def touches(self) -> Touches:
        """Reads and writes its sources and key files; the packages apt offers change with them."""
        mine = {("path", self.sources_path), ("path", self.key_path), ("path", KEYRINGS)}
        return touches(mine, {*mine, ("package", "*")})

    def probe(self) -> str:
        paths = (self.sources_path, self.key_path)
        text = stat_many([*paths, KEYRINGS]) + "echo\n"
        for label, path in zip(("sources", "key"), paths, strict=True):
            text += (f"if [ -f {quote(path)} ] && [ ! -L {quote(path)} ]; then "
                     f"printf '{label}='; base64 -w0 -- {quote(path)}; echo; fi\n")
        return text

    def parse(self, text: str) -> SourceState:
        records, _, rest = text.partition("\n")
        stats, contents = parse_stat_many(records), field_lines(rest)

        def seen(path: str, label: str) -> FileState:
            found = path_state(stats.get(path))
            # a damaged line raises binascii.Error, a ValueError: the step is unknown
            content = base64.b64decode(contents[label], validate=True) if label in contents else None
            return FileState(found.kind, found.mode, found.owner, found.group, content=content)

        return SourceState(seen(self.sources_path, "sources"), seen(self.key_path, "key"), KEYRINGS in stats)

    def plan(self, observed: SourceState) -> Step:
        # state absent removes a symlink too; a directory or a device is never touched
        allowed = ("absent", REGULAR) if self.state == "present" else ("absent", REGULAR, "link")
        odd = [f"{path} is a {seen.kind}" for path, seen in self._files(observed) if seen.kind not in allowed]
        if odd:
            return unknown(f"{'; '.join(odd)}: left alone")
        return self._present(observed) if self.state == "present" else self._absent(observed)

    def _files(self, observed: SourceState) -> list[tuple[str, FileState]]:
        return [(self.key_path, observed.key), (self.sources_path, observed.sources)]

    def _present(self, observed: SourceState) -> Step:
        wanted = {self.key_path: self.key_bytes, self.sources_path: self.render().encode()}
        differ = [(path, seen) for path, seen in self._files(observed) if not _same(seen, wanted[path])]
        if not differ:
            return ok(f"{self.name}: {' '.join(self.uris)}")
        actions: list[Action] = [MARK_STALE]
        if not observed.keyrings:
            actions.append(Run(("mkdir", "-p", "-m", "0755", KEYRINGS), at=KEYRINGS))
        actions += [Upload(path, wanted[path], mode="0644", owner="root", group="root") for path, _ in differ]
        diff = "".join(self._diff(path, seen, wanted[path]) for path, seen in differ)
        what = " and ".join("key" if path == self.key_path else "source" for path, _ in differ)
        created = observed.sources.kind == "absent"
        summary = f"add {self.name} ({' '.join(self.uris)})" if created else f"update the {what} of {self.name}"
        return change(summary, *actions, diff=diff, kind="create" if created else "modify")

    def _diff(self, path: str, seen: FileState, wanted: bytes) -> str:
        """A unified diff of the sources, the fingerprints of the key, or the mode and owner that differ."""
        if seen.content == wanted:
            return f"{path}: mode {seen.mode} {seen.owner}:{seen.group} -> 644 root:root\n"
        if path == self.sources_path:
            return content_diff(path, seen.content, wanted)
        return f"{path}: key {_fingerprints(seen.content)} -> {', '.join(openpgp.primary_fingerprints(wanted))}\n"

    def _absent(self, observed: SourceState) -> Step:
        there = [path for path, seen in self._files(observed) if seen.kind != "absent"]
        if not there:
            return ok()
        removals = [Run(("rm", "-f", "--", path), at=path) for path in reversed(there)]  # the source before its key
        return change(f"remove {self.name}", MARK_STALE, *removals, kind="remove")

    def checks(self) -> list[Check]:
        return [Check(f"apt source {self.name} {self.state}", self._verify)]

    def _verify(self, host: Any) -> None:
        if self.state == "absent":
            for path in (self.sources_path, self.key_path):
                assert not host.file(path).exists, f"{path} exists"
            return
        for path, wanted in ((self.sources_path, self.render().encode()), (self.key_path, self.key_bytes)):
            seen = host.file(path)
            assert seen.is_file, f"{path} is not a file"
            assert (seen.mode, seen.user, seen.group) == (0o644, "root", "root"), f"{path}: mode or owner differ"
            assert seen.content == wanted, f"{path}: content differs"


def _same(seen: FileState, wanted: bytes) -> bool:
    """A regular file with exactly `wanted`, mode 0644, owned by root."""
    return (seen.kind == REGULAR and seen.content == wanted
            and (seen.mode, seen.owner, seen.group) == ("644", "root", "root"))


def _fingerprints(content: bytes | None) -> str:
    """The fingerprints of a key file on the host, or what stands in their place."""
    if not content:
        return "(none)"
    try:
        return ", ".join(openpgp.primary_fingerprints(content))
    except openpgp.BadKey:
        return f"(unreadable, {len(content)} bytes)"

