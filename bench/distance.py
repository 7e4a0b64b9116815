"""The comparison at a distance (`run.py --delay MS`): every tool, the floor and the manual baseline
with MS of round trip between this machine and the hosts; configurator's round trips; the targets."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict
from pathlib import Path

import delay
import hostset
import session
import table
import tools
import trips
import venvs
import workload
from session import Bench, say
from table import Row, Target, ratio
from targets import conv_time, find, first_time

NAN = float("nan")
SLOW = ("pyinfra", "ansible")  # the peers whose runs take long at a distance: --peer-runs converged runs


def manual_row(bench: Bench, hosts: hostset.HostSet) -> Row:
    """The manual baseline on reset hosts: one timed run, no converged runs."""
    packages = list(bench.data["bench_packages"])
    cmd = tools.manual(hosts, packages)
    result, _ = session.timed(bench, "manual", cmd, f"manual-{len(hosts.hosts)}h-first", sample=True)
    return Row("manual", len(hosts.hosts), len(packages), result)


def runs_of(args: argparse.Namespace, tool: str) -> int:
    """Converged runs of `tool`: --peer-runs for the slow peers, --runs for the others."""
    runs: int = args.peer_runs if tool in SLOW and args.peer_runs is not None else args.runs
    return runs


def compare(bench: Bench, hosts: hostset.HostSet) -> list[Row]:
    """The manual baseline, then each tool from reset hosts (first run, converged runs), the floor."""
    say(f"manual baseline on {len(hosts.hosts)} hosts")
    rows = [manual_row(bench, hosts)]
    for tool in bench.args.tools.split(","):
        session.reset(bench, hosts)
        say(f"{tool} on {len(hosts.hosts)} hosts")
        rows.append(session.measure_tool(bench, tool, hosts, bench.data, first=True, runs=runs_of(bench.args, tool)))
        if tool == "configurator":
            say("floor")
            rows.append(session.measure_tool(bench, "floor", hosts, bench.data, first=False))
    return rows


def compute(rows: list[Row], first: list[trips.HostTrips], hosts: int, resources: int, ms: float) -> list[Target]:
    """The issue's targets at this distance (NOT MEASURED where a row or report is missing)."""
    conf, at = find(rows, "configurator", hosts, resources), f"{ms:g} ms"
    manual = next((r for r in rows if r.tool == "manual"), None)
    worst = trips.worst(first)
    trips_used, bound = (NAN, NAN) if worst is None else (worst.round_trips, worst.bound)
    return [
        Target(f"converged at {at}, {hosts} hosts: configurator / floor",
               ratio(conv_time(conf), conv_time(find(rows, "floor", hosts, resources))), 1.2, "×"),
        Target(f"first run at {at}: round trips of the worst host (bound: package transactions + handlers + "
               f"{trips.EXTRA})", trips_used, bound, ""),
        Target(f"first run at {at}, {hosts} hosts: configurator / manual baseline",
               ratio(first_time(conf), first_time(manual)), 1.1, "×"),
        Target(f"first run at {at}, {hosts} hosts: pyinfra / configurator",
               ratio(first_time(find(rows, "pyinfra", hosts, resources)), first_time(conf)), 3, "×", True),
    ]


def report(bench: Bench, rows: list[Row], header: str) -> tuple[str, dict[str, list[trips.HostTrips]]]:
    """The table, configurator's round trips a host and the targets, as printed and saved."""
    args, resources = bench.args, workload.resource_count(bench.data)
    name = f"configurator-{args.hosts}h-{resources}r"
    found = {"first run": trips.load(bench.out / f"{name}-first.json"),
             "converged run": trips.load(bench.out / f"{name}-conv1.json")}
    lines = [header, "", table.render(rows, args.runs)]
    lines += [trips.describe(label, hosts) for label, hosts in found.items()]
    lines += ["", *(t.line() for t in compute(rows, found["first run"], args.hosts, resources, args.delay))]
    return "\n".join(lines) + "\n", found


def heading(revision: str, measured_ms: float, started: str, args: argparse.Namespace) -> str:
    """What was measured (the commit as the run began), where, and the round trip as a TCP connect saw it."""
    way = f"{delay.each_way(args.delay)} each way, `configure sandbox netem`" if args.delay else "no delay"
    return (f"{revision}; at start: {started}; at the end: {session.load()} ({os.cpu_count()} cores)\n"
            f"delay: {args.delay:g} ms round trip ({way}); TCP connect to the first host: {measured_ms:.1f} ms "
            f"(median of 5)")


def run(args: argparse.Namespace) -> int:
    started, revision = session.load(), session.revision()  # others may commit while it runs
    bench = session.setup(args)
    hosts = bench.hosts.first(args.hosts)
    names = [h.name for h in hosts.hosts]
    session.reset(bench, hosts)
    say(f"delay of {args.delay:g} ms round trip on {', '.join(names)}")
    with delay.delayed(venvs.tool("configure"), names, args.delay):
        measured = delay.connect_ms(hosts.hosts[0].address)
        say(f"TCP connect to {names[0]}: {measured:.1f} ms")
        rows = compare(bench, hosts)
    say("delay cleared")
    session.reset(bench, hosts)
    tools.stop_ansible_masters(bench.out)
    text, found = report(bench, rows, heading(revision, measured, started, args))
    session.save(bench, rows, text)
    save_trips(bench.out, found)
    print("\n" + text)
    return 1 if any(r.failed for r in rows) else 0


def save_trips(out: Path, found: dict[str, list[trips.HostTrips]]) -> None:
    data = {label: [{**asdict(h), "bound": h.bound} for h in hosts] for label, hosts in found.items()}
    (out / "round-trips.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
