"""Saved plans: what `configure check --out FILE` reviewed, and the gate `configure apply FILE` passes.

The file holds, per host, each resource's planned status, summary and actions (described, redacted)
and a digest of what the plan saw: the step decided from the observed state (status, summary,
diff, every action with its full content). Apply plans each host again from its state at that
moment and refuses the host when a digest, the resources or the handlers differ.

No rendered content and no secret is written: summaries and action descriptions pass through the
run's redaction, diffs are left out, and digests are HMAC-SHA256 keyed with a random salt made for
this plan (the same state digests differently in two plans). The file is written 0600.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from configurator import __version__
from configurator.connections.base import Connection
from configurator.engine.converge import Event, Gate, Outcome, converge
from configurator.engine.executor import HostResult, Work
from configurator.engine.plan import Planned
from configurator.engine.status import HostStatus
from configurator.errors import HostFailed, InputError, Location
from configurator.model.catalog import Catalog

FORMAT = "configurator-plan/1"
Redact = Callable[[str], str]


@dataclass(frozen=True)
class Inputs:
    """What the plan was made from, so that apply builds the same catalogs."""

    inventory: str
    hosts: list[str]
    tags: list[str] = field(default_factory=list)
    skip_tags: list[str] = field(default_factory=list)
    vars: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SavedStep:
    """One resource as the plan saw it."""

    resource: str
    status: str
    summary: str
    actions: list[str]
    digest: str


@dataclass(frozen=True)
class SavedHost:
    """One host's reviewed plan."""

    host: str
    steps: list[SavedStep]
    handlers: list[str]


@dataclass(frozen=True)
class SavedPlan:
    """A whole saved plan."""

    inputs: Inputs
    salt: str
    created: str
    hosts: dict[str, SavedHost]


def digest(salt: str, planned: Planned) -> str:
    """HMAC of the step decided from the observed state: equal only when the plan would be the same."""
    step = planned.step
    parts = [planned.id, str(step.status), step.summary, step.diff, *(repr(a) for a in step.actions)]
    return hmac.new(bytes.fromhex(salt), "\0".join(parts).encode("utf-8", "surrogateescape"),
                    hashlib.sha256).hexdigest()


def saved_host(result: HostResult, salt: str, redact: Redact) -> SavedHost:
    """A checked host's plan, as the file keeps it."""
    steps = [SavedStep(p.id, str(p.step.status), redact(p.step.summary),
                       [redact(a.describe()) for a in p.step.actions], digest(salt, p))
             for p, _ in result.outcome.steps]
    handlers = [h.removesuffix(" (would run)") for h in result.outcome.handlers]
    return SavedHost(result.host, steps, handlers)


def make(inputs: Inputs, results: Sequence[HostResult], redact: Redact) -> tuple[SavedPlan, list[str]]:
    """The plan of the hosts check mode could read, and the names of those it could not (left out)."""
    salt = secrets.token_hex(16)
    planned = [r for r in results if r.status in (HostStatus.OK, HostStatus.PENDING)]
    hosts = {r.host: saved_host(r, salt, redact) for r in planned}
    made = Inputs(inputs.inventory, list(hosts), inputs.tags, inputs.skip_tags, inputs.vars)
    left_out = [r.host for r in results if r.host not in hosts]
    return SavedPlan(made, salt, datetime.now(UTC).isoformat(timespec="seconds"), hosts), left_out


def dumps(plan: SavedPlan) -> str:
    """The file's text."""
    return json.dumps({"format": FORMAT, "version": __version__, **asdict(plan)}, indent=2) + "\n"


def is_plan(path: Path) -> bool:
    """Whether `path` is a saved plan rather than an inventory (a JSON file naming the plan format)."""
    if path.suffix != ".json" or not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8") as data:
            return f'"{FORMAT}"' in data.read(200)
    except (OSError, UnicodeDecodeError):
        return False


def load(path: Path) -> SavedPlan:
    """Read a saved plan; a damaged or foreign file is bad input."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT!r}")
        hosts = {name: SavedHost(h["host"], [SavedStep(**s) for s in h["steps"]], list(h["handlers"]))
                 for name, h in data["hosts"].items()}
        return SavedPlan(Inputs(**data["inputs"]), str(data["salt"]), str(data["created"]), hosts)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"not a usable saved plan: {exc}", Location(str(path)),
                         "make one with `configure check INVENTORY --out FILE`") from None


def refusal(saved: SavedHost, salt: str, planned: list[Planned], handlers: list[str]) -> str:
    """Why the host no longer matches its saved plan ("" when it does)."""
    now = {p.id: p for p in planned}
    for step in saved.steps:
        item = now.get(step.resource)
        if item is None:
            return f"{step.resource} was planned but is no longer part of the host's catalog"
        if digest(salt, item) != step.digest:
            return (f"{step.resource} is no longer as planned (planned: {step.status} {step.summary}; "
                    f"now: {item.step.status} {item.step.summary})")
    extra = [p.id for p in planned if p.id not in {s.resource for s in saved.steps}]
    if extra:
        return f"{extra[0]} is part of the host's catalog now but was not in the plan"
    if handlers != saved.handlers:
        return f"the handlers to run changed (planned: {saved.handlers or 'none'}; now: {handlers or 'none'})"
    return ""


def gated(plan: SavedPlan) -> Work:
    """Converge that first refuses each host whose state no longer matches the plan (changing nothing on it)."""
    def gate(catalog: Catalog, planned: list[Planned], handlers: list[str]) -> None:
        saved = plan.hosts.get(catalog.host.name)
        reason = "the host is not in the plan" if saved is None else refusal(saved, plan.salt, planned, handlers)
        if reason:
            raise HostFailed(f"refused: the host changed since the plan of {plan.created}: {reason}; "
                             "nothing was changed on it (review a new plan with `configure check --out`)")

    def work(session: Connection, catalog: Catalog, check: bool, event: Event, stop: threading.Event,
             batch: Gate | None = None) -> Outcome:
        def both(catalog: Catalog, planned: list[Planned], handlers: list[str]) -> None:
            gate(catalog, planned, handlers)  # a refused host leaves its batch's gate when its run ends
            if batch is not None:
                batch(catalog, planned, handlers)
        return converge(session, catalog, check, event, stop, both)
    return work
