"""The live view on a terminal: one row per host with its state, counts and the step in hand."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table
from rich.text import Text

from configurator.engine.executor import HostResult
from configurator.engine.plan import Planned
from configurator.engine.status import HostStatus, StepStatus

STYLES: dict[str, str] = {  # by host status
    HostStatus.OK: "green", HostStatus.CHANGED: "yellow", HostStatus.PENDING: "yellow",
    HostStatus.FAILED: "red", HostStatus.UNREACHABLE: "red", HostStatus.SKIPPED: "dim"}


@dataclass
class Row:
    """What is known of one host so far."""

    state: str = "waiting"
    counts: dict[str, int] = field(default_factory=dict)
    last: str = ""
    started: float = field(default_factory=time.monotonic)
    seconds: float | None = None


class LiveHosts:
    """Host rows updated from the hosts' threads and drawn by rich's Live."""

    def __init__(self, hosts: list[str], verb: str, labels: dict[str, str] | None = None) -> None:
        self.verb = verb
        self.rows = {host: Row() for host in hosts}
        self.labels = labels if labels and set(labels.values()) != {"at once"} else {}  # host -> `apps 2/3`
        self.lock = threading.Lock()

    def step(self, host: str, item: Planned, outcome: StepStatus) -> None:
        """A step of `host` was decided or done."""
        with self.lock:
            row = self.rows.setdefault(host, Row())
            if row.state == "waiting":  # its clock starts with its first step, not with the run
                row.started = time.monotonic()
            row.state = "working"
            row.counts[outcome] = row.counts.get(outcome, 0) + 1
            if outcome != StepStatus.OK:
                row.last = f"{outcome} {item.id}"

    def done(self, result: HostResult) -> None:
        """A host finished."""
        with self.lock:
            row = self.rows.setdefault(result.host, Row())
            row.state, row.seconds = result.status, result.seconds

    def render(self) -> Table:
        """The table as it is now."""
        with self.lock:
            finished = sum(1 for r in self.rows.values() if r.seconds is not None)
            table = Table(title=f"{self.verb}: {finished}/{len(self.rows)} hosts done", title_justify="left",
                          box=None, pad_edge=False)
            batch = ("batch",) if self.labels else ()
            for column in ("host", *batch, "state", "ok", "changed", "failed", "time", "last change"):
                table.add_column(column, no_wrap=True)
            for host, row in self.rows.items():
                changed = row.counts.get("changed", 0) + row.counts.get("pending", 0)
                took = row.seconds if row.seconds is not None else time.monotonic() - row.started
                label = (self.labels.get(host, ""),) if self.labels else ()
                waited = row.state == "waiting"
                cells = (host, *label, row.state, str(row.counts.get("ok", 0)), str(changed),
                         str(row.counts.get("failed", 0)), "" if waited else f"{took:.1f}s", row.last[:60])
                # Text, not markup: resource ids such as file[/b] would read as rich tags
                table.add_row(*(Text(cell) for cell in cells), style=STYLES.get(row.state, ""))
            return table


def save_picture(results: list[HostResult], verb: str, path: str) -> None:
    """The live view's last frame for a finished run, as an SVG picture."""
    view = LiveHosts([r.host for r in results], verb, {r.host: r.label for r in results})
    for result in results:
        for planned, outcome in result.outcome.steps:
            view.step(result.host, planned, outcome)
        view.done(result)
    frame = Console(record=True, width=100, file=io.StringIO(), force_terminal=True)
    frame.print(view.render())
    frame.save_svg(path, title=f"configure {verb}: live view")
