"""What every resource is: a frozen value with a probe, a pure plan, and verify checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from configurator.engine.actions import Action

Status = Literal["ok", "change", "unknown"]


@dataclass(frozen=True)
class Step:
    """The decision for one resource: ok, change (with actions and a diff) or unknown."""

    status: Status
    summary: str = ""
    actions: tuple[Action, ...] = ()
    diff: str = ""
    kind: Literal["create", "modify", "remove", ""] = ""
    needs_detail: bool = False  # decided from a batched probe; the resource's own probe can say more (a diff)


@dataclass(frozen=True)
class Check:
    """One verify check: a name and a testinfra assertion over `host`."""

    name: str
    test: Any = field(compare=False)  # Callable[[testinfra Host], None]; raises AssertionError


def ok(summary: str = "") -> Step:
    """A step with nothing to do."""
    return Step("ok", summary)


def change(summary: str, *actions: Action, diff: str = "", kind: str = "modify") -> Step:
    """A step that converges with `actions`."""
    return Step("change", summary, tuple(actions), diff, kind)  # type: ignore[arg-type]


def unknown(summary: str) -> Step:
    """A step whose state could not be read."""
    return Step("unknown", summary)


class Resource(Protocol):
    """What every resource type provides (each is a frozen dataclass)."""

    type: ClassVar[str]

    @property
    def id(self) -> str:
        """A stable, readable identity: `package[nginx]`."""

    def probe(self) -> str:
        """An sh snippet that prints the observed state on stdout."""

    def plan(self, observed: str) -> Step:
        """Observed text in, step out; pure."""

    def checks(self) -> list[Check]:
        """Verify checks, independent of `probe`."""


def field_lines(observed: str) -> dict[str, str]:
    """Parse `key=value` lines from probe output (later keys win)."""
    result: dict[str, str] = {}
    # "\n" only: splitlines() would also cut values (file names, GECOS) at \r, \f, U+2028 and the like
    for line in observed.split("\n"):
        key, sep, value = line.partition("=")
        if sep:
            result[key.strip()] = value
    return result
