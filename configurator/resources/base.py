"""The resource contract: every member the engine uses, declared once, with the defaults a type may keep.

A resource type is a frozen dataclass subclassing `Resource[State]`, where `State` is a frozen
dataclass of what its probe saw. The engine calls `probe()` (or, for a `batched` type,
`batch_probe`), turns the output into `State` once with `parse` (or `batch_parse`), and decides
with the pure `plan(state)`. docs/resource-contract.md walks through writing one.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

from configurator.engine.actions import Action, quote
from configurator.resources.sections import split_marked
from configurator.resources.touch import Touch, Touches

INDEX = re.compile(r"(\d+)")  # what follows a one_by_one marker

State = TypeVar("State")


class PlanStatus(StrEnum):
    """What a plan decided for one resource (the text is what reports print); engine.status says
    what then became of the step."""

    OK = "ok"
    CHANGE = "change"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Step:
    """The decision for one resource: ok, change (with actions and a diff) or unknown."""

    status: PlanStatus
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


@dataclass(frozen=True)
class Unreadable:
    """Probe output that a resource could not parse: its step is `unknown`, the run goes on."""

    reason: str


def ok(summary: str = "") -> Step:
    """A step with nothing to do."""
    return Step(PlanStatus.OK, summary)


def change(summary: str, *actions: Action, diff: str = "",
           kind: Literal["create", "modify", "remove", ""] = "modify") -> Step:
    """A step that converges with `actions`."""
    return Step(PlanStatus.CHANGE, summary, tuple(actions), diff, kind)


def unknown(summary: str) -> Step:
    """A step whose state could not be read."""
    return Step(PlanStatus.UNKNOWN, summary)


class Resource(ABC, Generic[State]):
    """What every resource type is; subclass it as a frozen dataclass and register it in TYPES."""

    type: ClassVar[str]  # the name in role.yml and in ids: `package`
    # probed together with the other resources of this `type` through batch_probe/batch_parse
    batched: ClassVar[bool] = False
    prelude: ClassVar[str] = ""  # sh run once per probe script before any probe of this type
    merges: ClassVar[bool] = False  # consecutive changes of this type run as one step, through `merge`
    source_folder: ClassVar[str] = ""  # role folder `src` is read from ("" = the type takes no `src`)
    renders_source: ClassVar[bool] = False  # `src` is a jinja2 template, rendered on the control machine

    @property
    @abstractmethod
    def id(self) -> str:
        """A stable, readable identity: `package[nginx]`."""

    @abstractmethod
    def probe(self) -> str:
        """An sh snippet that prints the observed state on stdout."""

    @abstractmethod
    def parse(self, text: str) -> State:
        """The observed state from what `probe()` printed; raises ValueError (or KeyError) on garbage."""

    @abstractmethod
    def plan(self, observed: State) -> Step:
        """Observed state in, step out; pure."""

    @abstractmethod
    def checks(self) -> list[Check]:
        """Verify checks, independent of `probe`."""

    def validate(self) -> list[str]:
        """Problems with the arguments beyond their types (checked when the catalog is built)."""
        return []

    @property
    def checkable(self) -> bool:
        """Whether check mode can tell if it drifted (a command that runs every time cannot)."""
        return True

    def touches(self) -> Touches:
        """What the probe reads and what a change writes (configurator.resources.touch); the default,
        everything, makes the engine re-probe every later resource after this one's change."""
        return Touches()

    def predict(self, observed: State, step: Step) -> State | None:
        """The state this resource's probe would see once `step` (planned from `observed`) ran, when
        that is certain; a later resource with the same probe is then planned on it, in the same
        script (default None: it is probed again)."""
        return None

    def after_writes(self, observed: State, written: frozenset[Touch]) -> State | None:
        """Check mode: the state this resource's probe would see once a change planned before it wrote
        `written` (which meets its reads; asked for each such change, in order), when it can tell; it
        is then planned on that state (default None: as it was before that change)."""
        return None

    def restarts_host(self) -> float:
        """Seconds to wait for the host to come back (another boot) after this resource's change
        restarted it; the engine then reconnects and goes on (0: the change does not restart it)."""
        return 0.0

    def guarding(self, holds_secret: Callable[[str], bool]) -> Self:
        """This resource once the run's vault values are known (a file holding one is kept private)."""
        return self

    @classmethod
    def batch_probe(cls, items: Sequence[Self], mark: str) -> str:
        """sh for many resources of this type; by default each probe in turn, after its own marker."""
        return one_by_one(items, mark)

    @classmethod
    def batch_parse(cls, items: Sequence[Self], text: str, mark: str) -> list[State | Unreadable]:
        """Each resource's observed state from the `batch_probe` output, in order."""
        return parse_one_by_one(items, text, mark)

    @classmethod
    def merge(cls, actions: list[Action]) -> list[Action]:
        """The actions of consecutive changes of this type as one run (only used when `merges`)."""
        return actions


def one_by_one(items: Sequence[Resource[Any]], mark: str) -> str:
    """sh that runs each item's own probe in a subshell, after `mark` and its index."""
    return "".join(f"echo {quote(f'{mark}:one {n}')}\n( {item.probe().strip()}\n)\n" for n, item in enumerate(items))


def split_one_by_one(text: str, mark: str) -> tuple[str, dict[int, str]]:
    """What came before the first `one_by_one` section, and index -> probe output (cut-off ones missing)."""
    pieces = split_marked(text, f"{mark}:one ", INDEX)
    return pieces[0], {int(n): body for n, body in zip(pieces[1::2], pieces[2::2], strict=True)}


def parse_one_by_one(items: Sequence[Resource[State]], text: str, mark: str) -> list[State | Unreadable]:
    """Each item's state from `one_by_one` output; a missing or garbled section is Unreadable."""
    _, found = split_one_by_one(text, mark)
    result: list[State | Unreadable] = [Unreadable("its probe printed nothing")] * len(items)
    for n, text_of_item in found.items():
        if n < len(items):
            state = read(items[n], text_of_item)
            result[n] = state
    return result


def read(resource: Resource[State], text: str) -> State | Unreadable:
    """`resource.parse(text)`, with a parse failure as Unreadable rather than an exception."""
    try:
        return resource.parse(text)
    except (ValueError, KeyError, IndexError) as exc:
        return Unreadable(f"could not read the observed state: {exc}")


def decide(resource: Resource[Any], text: str) -> Step:
    """Probe text in, step out: `plan(parse(text))`, as tests and tools use it."""
    return resource.plan(resource.parse(text))


def field_lines(observed: str) -> dict[str, str]:
    """Parse `key=value` lines from probe output (later keys win)."""
    result: dict[str, str] = {}
    # "\n" only: splitlines() would also cut values (file names, GECOS) at \r, \f, U+2028 and the like
    for line in observed.split("\n"):
        key, sep, value = line.partition("=")
        if sep:
            result[key.strip()] = value
    return result
