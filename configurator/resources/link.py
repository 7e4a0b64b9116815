"""Symbolic links, switched atomically."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from configurator.engine.actions import Run, quote
from configurator.resources.base import Check, Resource, Step, change, field_lines, ok, unknown
from configurator.resources.touch import Touches, touches

# a new link under a random name (ln -s never follows or replaces what is there), renamed over the path
LINK_SWITCH = ('t=$(mktemp -u -p "$3" .cfg-link-XXXXXXXXXX) && ln -s -- "$1" "$t" && '
               '{ mv -fT -- "$t" "$2" || { rm -f -- "$t"; exit 1; }; }')


@dataclass(frozen=True)
class LinkState:
    """Where a link points (None: not a link), or what is there instead (`absent`, `other`)."""

    target: str | None = None
    kind: str = ""


@dataclass(frozen=True)
class Link(Resource[LinkState]):
    """A symbolic link pointing at `target`, switched atomically (or absent)."""

    path: str
    target: str = ""
    state: Literal["present", "absent"] = "present"
    type: ClassVar[str] = "link"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.path}]"

    def touches(self) -> Touches:
        """Reads its path; replacing a link changes what every path beneath it names."""
        return touches({("path", self.path)}, {("tree", self.path)})

    def probe(self) -> str:
        return (f"p={quote(self.path)}\nif [ -L \"$p\" ]; then echo \"target=$(readlink -- \"$p\")\"; "
                "elif [ -e \"$p\" ]; then echo type=other; else echo type=absent; fi\n")

    def parse(self, text: str) -> LinkState:
        seen = field_lines(text)
        return LinkState(seen.get("target"), seen.get("type", ""))

    def plan(self, observed: LinkState) -> Step:
        seen = observed
        if self.state == "absent":
            if seen.target is None and seen.kind == "absent":
                return ok()
            if seen.kind == "other":
                return unknown(f"{self.path} is not a link; refusing to remove it")
            return change(f"remove link {self.path}", Run(("rm", "-f", "--", self.path), at=self.path),
                          kind="remove")
        if seen.target == self.target:
            return ok()
        if seen.kind == "other":
            return unknown(f"{self.path} exists and is not a link")
        directory = self.path.rsplit("/", 1)[0] or "/"
        switch = Run(("sh", "-c", LINK_SWITCH, "sh", self.target, self.path, directory), at=self.path)
        old = seen.target
        summary = f"link {self.path} -> {self.target}" + (f" (was {old})" if old else "")
        return change(summary, switch, kind="modify" if old else "create")

    def checks(self) -> list[Check]:
        def verify(host: Any) -> None:
            f = host.file(self.path)
            if self.state == "absent":
                assert not f.exists and not f.is_symlink, f"{self.path} exists"
                return
            assert f.is_symlink, f"{self.path} is not a symlink"
            assert f.linked_to == self.target or host.check_output(
                "readlink -- %s", self.path) == self.target, f"{self.path} points elsewhere"
        return [Check(f"link {self.path} -> {self.target}", verify)]
