"""How a rollout reads: batch labels in the recap and the live view, hooks and times in the recap and JSON."""

from __future__ import annotations

import io

from rich.console import Console as RichConsole

from configurator.engine.batches import AT_ONCE, Batch
from configurator.engine.hooks import HookRun
from configurator.engine.results import HostResult, Results
from configurator.output import report
from configurator.output.liveview import LiveHosts

FIRST, SECOND = Batch("apps", 1, 2, ("a1",)), Batch("apps", 2, 2, ("a2",))
FREE = Batch(AT_ONCE, 1, 1, ("dns",))
T0 = 1_773_480_413.5  # 2026-03-14T09:26:53.500+00:00


def results() -> Results:
    hosts = [HostResult("dns", "changed", started=T0, ended=T0 + 2, batch=FREE),
             HostResult("a1", "changed", started=T0, ended=T0 + 1, batch=FIRST),
             HostResult("a2", "skipped", error="not started: the apps 2/2 before-hook on lb1: failed (exit 3, 0.10s)",
                        batch=SECOND)]
    hooks = [HookRun("apps", "apps 1/2", "before", "lb1", "drain a1 secret", "ok", 0, "drained", T0, T0 + 0.25),
             HookRun("apps", "apps 2/2", "before", "lb1", "drain a2", "failed", 3, "no such server\nbye", T0 + 1,
                     T0 + 1.1)]
    return Results(hosts, hooks)


def test_recap_shows_each_hosts_batch_and_every_hook():
    out = io.StringIO()
    report.Console(out, redact=lambda text: text.replace("secret", "***")).recap(results(), 3.0)
    lines = out.getvalue().splitlines()
    assert [line.split()[:4] for line in lines if line.startswith(("dns ", "a1 ", "a2 "))] == [
        ["dns", "changed", "at", "once"], ["a1", "changed", "apps", "1/2"], ["a2", "skipped", "apps", "2/2"]]
    hooks = lines[lines.index("BATCH HOOKS") + 1:-1]
    assert hooks == ["09:26:53.500  apps 1/2 before-hook on lb1: ok (exit 0, 0.25s)", "    $ drain a1 ***",
                     "    | drained",
                     "09:26:54.500  apps 2/2 before-hook on lb1: failed (exit 3, 0.10s)", "    $ drain a2",
                     "    | no such server", "    | bye"]


def test_recap_of_a_run_without_batches_has_no_batch_column():
    out = io.StringIO()
    report.Console(out).recap([HostResult("web1", "ok", batch=FREE), HostResult("web2", "ok")], 1.0)
    assert [line.split()[:3] for line in out.getvalue().splitlines() if line.startswith("web")] == [
        ["web1", "ok", "ok=0"], ["web2", "ok", "ok=0"]]


def test_json_has_each_hosts_batch_and_times_and_the_hooks():
    data = report.as_json(results(), "apply", lambda text: text.replace("secret", "***"))
    assert data["schema_version"] == 2
    assert [(h["host"], h["batch"], h["started"], h["ended"]) for h in data["hosts"]] == [
        ("dns", None, "2026-03-14T09:26:53.500+00:00", "2026-03-14T09:26:55.500+00:00"),
        ("a1", {"group": "apps", "index": 1, "count": 2}, "2026-03-14T09:26:53.500+00:00",
         "2026-03-14T09:26:54.500+00:00"),
        ("a2", {"group": "apps", "index": 2, "count": 2}, None, None)]
    assert data["hooks"][0] == {"group": "apps", "batch": "apps 1/2", "when": "before", "on": "lb1",
                                "command": "drain a1 ***", "status": "ok", "exit_status": 0, "output": "drained",
                                "started": "2026-03-14T09:26:53.500+00:00", "ended": "2026-03-14T09:26:53.750+00:00"}
    assert report.as_json([HostResult("x", "ok")], "apply")["hooks"] == []


def test_live_view_has_a_batch_column_when_there_are_batches():
    def text(view: LiveHosts) -> list[str]:
        out = RichConsole(file=io.StringIO(), width=120, record=True)
        out.print(view.render())
        return out.export_text().splitlines()

    view = LiveHosts(["dns", "a1", "a2"], "apply", {"dns": "at once", "a1": "apps 1/2", "a2": "apps 2/2"})
    lines = text(view)
    assert lines[1].split()[:3] == ["host", "batch", "state"]
    assert next(line for line in lines if line.startswith("a2")).split()[:4] == ["a2", "apps", "2/2", "waiting"]
    plain = LiveHosts(["dns"], "apply", {"dns": "at once"})
    assert text(plain)[1].split()[:2] == ["host", "state"]


def test_recap_and_json_tell_a_hook_that_was_not_needed():
    skipped = HookRun("apps", "apps 1/1", "before", "lb1", "drain {{ batch }}", "not needed", None, "", T0, T0)
    runs = Results([HostResult("a1", "ok", started=T0, ended=T0 + 1, batch=Batch("apps", 1, 1, ("a1",)))], [skipped])
    out = io.StringIO()
    report.Console(out, redact=lambda text: text).recap(runs, 1.0)
    lines = out.getvalue().splitlines()
    assert lines[lines.index("BATCH HOOKS") + 1:-1] == [
        "09:26:53.500  apps 1/1 before-hook on lb1: not needed (nothing to change on the batch's hosts)"]
    assert not runs.hooks_failed
