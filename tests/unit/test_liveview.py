"""The live host table: counts and states from step events, as data."""

import io

from rich.console import Console

from configurator.engine.converge import Outcome
from configurator.engine.executor import HostResult
from configurator.engine.plan import Planned
from configurator.errors import Location
from configurator.model.catalog import Entry
from configurator.output.liveview import LiveHosts
from configurator.resources.base import Step
from configurator.resources.file import File


def planned(path: str) -> Planned:
    return Planned(Entry(File(path), "r", Location("role.yml", 1)), Step("change", "x"))


def text(view: LiveHosts) -> str:
    out = Console(file=io.StringIO(), width=120, record=True)
    out.print(view.render())
    return out.export_text()


def test_rows_follow_the_events():
    view = LiveHosts(["web1", "web2"], "apply")
    view.step("web1", planned("/a"), "ok")
    view.step("web1", planned("/b"), "changed")
    assert "apply: 0/2 hosts done" in text(view)
    view.done(HostResult("web1", "changed", Outcome(), seconds=1.25))
    lines = text(view).splitlines()
    assert "apply: 1/2 hosts done" in lines[0]
    row = next(line for line in lines if line.startswith("web1"))
    assert row.split()[:5] == ["web1", "changed", "1", "1", "0"] and "1.2s" in row and "file[/b]" in row
    assert next(line for line in lines if line.startswith("web2")).split()[1] == "waiting"
