"""Batch hooks: a command before and after each batch of a group, on an inventory host or `local`.

A hook on a host runs over a new connection to it (its own ssh settings and become), opened by the
same code as every other connection; `local` is a shell on this machine. The command is a jinja2
template that sees `batch`, `succeeded`, `failed` (host names) and `group`, plus the names any
template of the `on:` host sees (model/context.py). A hook never takes the host lock: it may target a
host that the same run is converging.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from configurator.connections.base import Connection
from configurator.connections.streams import Keep, last_lines
from configurator.errors import ConfigureError, Unreachable
from configurator.model import context, templates
from configurator.model.inventory import Host, Inventory, Ssh
from configurator.model.rolling import LOCAL, Hook
from configurator.model.variables import merge, plain

OUTPUT_LINES = 10  # lines of a hook's output kept for the recap and the report
KEEP = Keep(whole=64 * 1024, head=4 * 1024, tail=16 * 1024)  # a hook's output is read, never parsed
Opener = Callable[[Host], Connection]
NOT_NEEDED = "not needed"  # no host of the batch had anything to change: the hook was not run


@dataclass(frozen=True)
class HookRun:
    """What one hook did: where, the command it ran, its exit status, its output's tail and its times."""

    group: str
    batch: str  # the batch's label, `apps 2/3`
    when: str  # before | after
    on: str
    command: str
    status: str  # ok | failed | timeout | unreachable | not needed
    exit_status: int | None
    output: str
    started: float  # seconds since the epoch
    ended: float

    @property
    def ok(self) -> bool:
        return self.status in ("ok", NOT_NEEDED)

    def describe(self) -> str:
        """One line: which hook, how it ended."""
        if self.status == NOT_NEEDED:
            return f"{self.batch} {self.when}-hook on {self.on}: not needed (nothing to change on the batch's hosts)"
        how = f"exit {self.exit_status}" if self.exit_status is not None else self.status
        return f"{self.batch} {self.when}-hook on {self.on}: {self.status} ({how}, {self.ended - self.started:.2f}s)"


@dataclass(frozen=True)
class Names:
    """The batch as a hook's template sees it."""

    group: str
    batch: tuple[str, ...]
    succeeded: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


def local_host() -> Host:
    """The machine running configure, as the host a `local` hook runs on."""
    return Host(LOCAL, "localhost", Ssh(), connection="local")


def render(hook: Hook, names: Names, inventory: Inventory) -> str:
    """The hook's command for this batch (bad input, with the hook's file:line, when it does not render)."""
    view = context.inventory_view(inventory)
    if hook.on == LOCAL:
        base: dict[str, Any] = {"inventory": view}
    else:
        host = inventory.hosts[hook.on]
        base = context.template_context(host, plain(merge(host.var_layers)), view)
    names_seen = {"group": names.group, "batch": list(names.batch), "succeeded": list(names.succeeded),
                  "failed": list(names.failed)}
    rendered = templates.render_text(templates.environment(), hook.run, {**base, **names_seen}, hook.where,
                                     f"batch hook {hook.run!r}")
    return str(rendered)


def run(hook: Hook, when: str, label: str, names: Names, inventory: Inventory, opener: Opener) -> HookRun:
    """Run one hook to its end; every failure is caught and told in the result."""
    started = time.time()
    command, status, code, output = hook.run, "ok", None, ""
    session = None
    try:
        command = render(hook, names, inventory)
        session = opener(local_host() if hook.on == LOCAL else inventory.hosts[hook.on])
        result = session.run(command, timeout=hook.timeout, keep=KEEP)
        code, output = result.status, "\n".join(last_lines(f"{result.stdout}\n{result.stderr}", OUTPUT_LINES))
        status = "ok" if code == 0 else "failed"
    except Unreachable as exc:
        status, output = "unreachable", str(exc)
    except ConfigureError as exc:
        status, output = ("timeout" if "timed out" in str(exc) else "failed"), str(exc)
    except Exception as exc:  # noqa: BLE001 - a bug or transport fault fails this hook, not the run
        status, output = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        if session is not None:
            session.close()
    return HookRun(names.group, label, when, hook.on, command, status, code, output, started, time.time())


def not_needed(hook: Hook, when: str, label: str, group: str, at: float) -> HookRun:
    """The record of a hook left out because no host of its batch had anything to change."""
    return HookRun(group, label, when, hook.on, hook.run, NOT_NEEDED, None, "", at, at)


def run_all(hooks: Sequence[Hook], when: str, label: str, names: Names, inventory: Inventory, opener: Opener,
            record: Callable[[HookRun], None]) -> HookRun | None:
    """Run `hooks` in order until one fails; the failed one (None when all passed)."""
    for hook in hooks:
        outcome = run(hook, when, label, names, inventory, opener)
        record(outcome)
        if not outcome.ok:
            return outcome
    return None
