"""One benchmark run: prepare the hosts, measure each tool, the floor and the scaling, report."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import floor
import hostset
import measure
import profiling
import table
import targets
import tools
import venvs
import workload

SETUP_PARALLEL = 10  # hosts prepared, reset or converged (untimed) at once: keeps the shared machine's load bounded


@dataclass
class Bench:
    """What every step needs: the options, the hosts, the workload and the work folder."""

    args: argparse.Namespace
    hosts: hostset.HostSet
    data: dict[str, Any]
    out: Path

    def log(self, name: str) -> Path:
        return self.out / "logs" / f"{name}.log"


def say(text: str) -> None:
    print(f"bench: {text}", flush=True)


def on_hosts(bench: Bench, hosts: hostset.HostSet, script: str, what: str) -> None:
    """Run a setup script on every host (not timed); stop on any failure."""
    results = floor.on_all(hosts.addresses, hosts.key, hosts.known_hosts, script, limit=SETUP_PARALLEL)
    bad = {a: r for a, r in results.items() if r[0] != 0}
    if bad:
        raise SystemExit(f"bench: {what} failed on {', '.join(sorted(bad))}: {next(iter(bad.values()))[1][-500:]}")


def setup(args: argparse.Namespace) -> Bench:
    """Lease the sandbox, make sure the hosts run, write every tool's inventory, warm the hosts."""
    out = args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    (out / "logs").mkdir(parents=True)
    hostset.hold_lease()  # a file naming this process: held until it exits
    last = args.first_node + max(args.hosts, args.big_hosts) - 1
    say(f"sandbox up to node{last} (idempotent)")
    hostset.ensure_up(last, venvs.tool("configure"))
    hosts = hostset.select(args.first_node, max(args.hosts, args.big_hosts))
    venvs.compile_project()
    bench = Bench(args, hosts, workload.load(), out)
    (out / "probe.sh").write_text(workload.floor_probe(bench.data), encoding="utf-8")
    say(f"preparing {len(hosts.hosts)} hosts (fresh apt lists, warm package proxy)")
    on_hosts(bench, hosts, workload.prepare_script(bench.data), "preparation")
    return bench


def command(bench: Bench, tool: str, hosts: hostset.HostSet, data: dict[str, Any], name: str) -> tools.Command:
    """The command line of `tool` for these hosts and this workload."""
    out = bench.out / "inventories"
    out.mkdir(exist_ok=True)
    if tool == "configurator":
        inventory = hostset.configurator_inventory(hosts, data, out / f"{name}.yml")
        return tools.configurator(inventory, bench.out / f"{name}.json")
    if tool == "ansible":
        return tools.ansible(hostset.ansible_inventory(hosts, out / f"{name}.yml"), len(hosts.hosts), bench.out)
    if tool == "pyinfra":
        return tools.pyinfra(hostset.pyinfra_inventory(hosts, out / f"{name}.py"), len(hosts.hosts))
    return tools.floor(hosts, bench.out / "probe.sh")


def timed(bench: Bench, tool: str, cmd: tools.Command, name: str, sample: bool) -> tuple[measure.Measured, int | None]:
    """Run one command, measured; return the measurement and the changes it reported."""
    result = measure.run(cmd.argv, bench.log(name), env=cmd.env, sample=sample)
    changes = tools.changes(tool, cmd, result.output())
    if cmd.report is not None and cmd.report.exists():  # each run's own report (round trips of the first run)
        shutil.copyfile(cmd.report, cmd.report.with_name(f"{name}.json"))
    state = "ok" if result.ok else f"EXIT {result.code} (see {result.log})"
    say(f"  {name}: {result.seconds:.3f}s cpu {result.cpu:.2f}s changes {changes} {state}")
    return result, changes


def measure_tool(bench: Bench, tool: str, hosts: hostset.HostSet, data: dict[str, Any],
                 first: bool, label: str = "", runs: int | None = None) -> table.Row:
    """Optionally a first (converging) run, then the converged runs (`runs`, default --runs); tree RSS
    sampled on the first."""
    name = f"{tool}-{len(hosts.hosts)}h-{workload.resource_count(data)}r{label}"
    row = table.Row(tool, len(hosts.hosts), workload.resource_count(data))
    cmd = command(bench, tool, hosts, data, name)
    if first:
        row.first, row.first_changes = timed(bench, tool, cmd, f"{name}-first", sample=True)
    for index in range(bench.args.runs if runs is None else runs):
        result, changes = timed(bench, tool, cmd, f"{name}-conv{index + 1}", sample=index == 0 and not first)
        row.converged.append(result)
        row.converged_changes.append(changes)
    return row


def reset(bench: Bench, hosts: hostset.HostSet) -> None:
    say(f"resetting {len(hosts.hosts)} hosts (purge packages, delete users, directories, files)")
    on_hosts(bench, hosts, workload.reset_script(bench.data), "reset")


def main_comparison(bench: Bench) -> list[table.Row]:
    """Each tool from reset hosts: first run, converged runs; the floor; configurator's scaling."""
    hosts = bench.hosts.first(bench.args.hosts)
    rows = []
    for tool in bench.args.tools.split(","):
        reset(bench, hosts)
        say(f"{tool} on {len(hosts.hosts)} hosts")
        rows.append(measure_tool(bench, tool, hosts, bench.data, first=True))
        if tool == "configurator":
            rows += scaling(bench, hosts)
            if bench.args.profile:
                profile(bench, hosts)
    return rows


def scaling(bench: Bench, hosts: hostset.HostSet) -> list[table.Row]:
    """On configurator-converged hosts: the floor, 1 host, and the large workload."""
    say("floor and 1-host runs")
    rows = [measure_tool(bench, "floor", hosts, bench.data, first=False),
            measure_tool(bench, "configurator", hosts.first(1), bench.data, first=False),
            measure_tool(bench, "floor", hosts.first(1), bench.data, first=False)]
    if bench.args.big_files:
        say(f"configurator with {bench.args.big_files} templated files")
        rows.append(measure_tool(bench, "configurator", hosts, workload.with_files(bench.data, bench.args.big_files),
                                 first=True))
    return rows


def big_hosts(bench: Bench) -> list[table.Row]:
    """configurator and the floor, converged, on --big-hosts hosts (converged first, untimed, 10 at a time)."""
    hosts = bench.hosts.first(bench.args.big_hosts)
    say(f"converging {len(hosts.hosts)} hosts with configurator (untimed, --forks {SETUP_PARALLEL})")
    cmd = command(bench, "configurator", hosts, bench.data, f"configurator-{len(hosts.hosts)}h-setup")
    setup_run = measure.run([*cmd.argv, "--forks", str(SETUP_PARALLEL)], bench.log("big-hosts-setup"), env=cmd.env)
    if not setup_run.ok:
        raise SystemExit(f"bench: converging {len(hosts.hosts)} hosts failed, see {setup_run.log}")
    say(f"configurator and the floor on {len(hosts.hosts)} hosts")
    return [measure_tool(bench, "configurator", hosts, bench.data, first=False),
            measure_tool(bench, "floor", hosts, bench.data, first=False)]


def start_up(python: str, bench: Bench) -> str:
    """Interpreter start-up and import times, with the imports summed by package."""
    start = measure.run([python, "-c", "pass"], bench.log("python-start"))
    imports = measure.run([python, "-c", "import configurator.cli"], bench.log("configurator-import"))
    paramiko = measure.run([python, "-c", "import paramiko"], bench.log("paramiko-import"))
    times = subprocess.run([python, "-X", "importtime", "-c", "import configurator.cli"], capture_output=True,
                           text=True, check=False)
    return (f"python start-up: {start.seconds * 1000:.0f} ms; + `import configurator.cli`: "
            f"{imports.seconds * 1000:.0f} ms; + `import paramiko` (the floor): {paramiko.seconds * 1000:.0f} ms\n"
            + profiling.import_breakdown(times.stderr))


def probe_scripts(bench: Bench, hosts: hostset.HostSet) -> dict[str, str]:
    """configurator's probe script and the floor's, for the workload and the large workload."""
    sizes = [bench.data] + ([workload.with_files(bench.data, bench.args.big_files)] if bench.args.big_files else [])
    scripts = {}
    for data in sizes:
        count = workload.resource_count(data)
        path = hostset.configurator_inventory(hosts, data, bench.out / "inventories" / f"profile-{count}r.yml")
        scripts[f"configurator probe script ({count} resources)"] = (
            profiling.configurator_probe(str(path), hosts.hosts[0].name))
        scripts[f"floor probe script ({count} resources)"] = workload.floor_probe(data)
    return scripts


def profile(bench: Bench, hosts: hostset.HostSet) -> None:
    """cProfile (all threads) of one converged run, start-up and imports, the probe scripts alone."""
    cmd = command(bench, "configurator", hosts, bench.data, "profile")
    prof = bench.out / "configurator-converged.prof"
    python = str(venvs.python())
    subprocess.run([python, str(Path(profiling.__file__)), str(prof), *cmd.argv[1:]],
                   check=False, stdout=subprocess.DEVNULL)
    scripts = probe_scripts(bench, hosts)
    text = (start_up(python, bench) + "\n"
            + profiling.remote_probe(hosts.addresses, hosts.key, hosts.known_hosts, scripts) + "\n"
            + profiling.key_functions(str(prof)) + "\n" + profiling.summary(str(prof)))
    (bench.out / "profile.txt").write_text(text, encoding="utf-8")
    say(f"profile written to {bench.out / 'profile.txt'}")


def report(bench: Bench, rows: list[table.Row]) -> str:
    """The table, the growth figures and the targets, as printed and saved."""
    args = bench.args
    big = workload.resource_count(workload.with_files(bench.data, args.big_files)) if args.big_files else 0
    small = workload.resource_count(bench.data)
    lines = [table.render(rows, args.runs), *targets.growth(rows, args.hosts, small, big, args.big_hosts or 50), ""]
    lines += [t.line() for t in targets.compute(rows, args.hosts, small, big, args.big_hosts or 50)]
    return "\n".join(lines) + "\n"


def save(bench: Bench, rows: list[table.Row], text: str) -> None:
    def plain(m: measure.Measured | None) -> dict[str, Any] | None:
        return None if m is None else {**asdict(m), "log": str(m.log)}

    data = [{"tool": r.tool, "hosts": r.hosts, "resources": r.resources, "first": plain(r.first),
             "first_changes": r.first_changes, "converged": [plain(m) for m in r.converged],
             "converged_changes": r.converged_changes} for r in rows]
    (bench.out / "results.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    (bench.out / "table.txt").write_text(text, encoding="utf-8")


def load() -> str:
    return "load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def revision() -> str:
    """The configurator commit measured (and whether its tree had changes)."""
    git = ["git", "-C", str(Path(__file__).resolve().parent.parent)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no", "configurator"],
                           capture_output=True, text=True, check=False)
    return f"configurator at {head.stdout.strip() or '?'}{' (+ local changes)' if dirty.stdout.strip() else ''}"


def run(args: argparse.Namespace) -> int:
    started = load()
    bench = setup(args)
    rows = main_comparison(bench)
    if args.big_hosts:
        rows += big_hosts(bench)
    reset(bench, bench.hosts)
    tools.stop_ansible_masters(bench.out)
    text = (f"{revision()}; at start: {started}; at the end: {load()} ({os.cpu_count()} cores)\n\n"
            + report(bench, rows))
    save(bench, rows, text)
    print("\n" + text)
    return 1 if any(r.failed for r in rows) else 0
