"""The light-host scale run (`run.py --light-hosts 100,300,1000`): configurator and the floor, converged.

Kept apart from the full-host comparison: light hosts are sshd without systemd (`configure sandbox
up --light`), so the workload is workload/light.yml (no services; packages the base already has)
and the peers are not run. Each size runs on light1..lightN: an untimed converging run first, then
the converged runs of configurator and of the floor; the report gives the controller CPU per host,
the peak RSS, the ratio to the floor and the growth per host between sizes.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import subprocess

import hostset
import measure
import session
import table
import tools
import venvs
import workload

from configurator.sandbox import layout, light_state, state
from configurator.sandbox.light_layout import NAME_PREFIX

SETUP_FORKS = 50  # the untimed converging run: bounded, other work shares this machine
DEFAULT_FORKS = 64  # configurator's own default; past it, threads on 2 cores cost more than they wait


def ensure_up(count: int) -> None:
    """`configure sandbox up --light --hosts N` (adds light hosts, never restarts any)."""
    done = subprocess.run([venvs.tool("configure"), "sandbox", "up", "--light", "--hosts", str(count)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr.strip() or f"bench: `configure sandbox up --light` exited {done.returncode}")
    session.say(done.stdout.strip().splitlines()[-1])


def select(count: int) -> hostset.HostSet:
    """light1..lightN as recorded, with their ports; all inside 198.18.0.0/24."""
    directory = layout.state_dir()
    recorded = state.load(directory) or state.empty(directory)
    by_name = {h.name: h for h in light_state.load(directory)}
    names = [f"{NAME_PREFIX}{i}" for i in range(1, count + 1)]
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SystemExit(f"bench: no light hosts {', '.join(missing[:5])}...; run `configure sandbox up --light`")
    hosts = tuple(hostset.Host(n, by_name[n].address, by_name[n].port) for n in names)
    if any(ipaddress.ip_address(h.address) not in hostset.NETWORK for h in hosts):
        raise SystemExit(f"bench: refusing light host addresses outside {hostset.NETWORK}")
    return hostset.HostSet(hosts, str(recorded.key_path), str(recorded.known_hosts))


def setup(args: argparse.Namespace) -> session.Bench:
    """Lease the sandbox, boot the light hosts, write the probe script."""
    out = args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    (out / "logs").mkdir(parents=True)
    hostset.hold_lease()
    largest = args.light_hosts[-1]
    session.say(f"light hosts up to {NAME_PREFIX}{largest} (idempotent)")
    ensure_up(largest)
    venvs.compile_project()
    bench = session.Bench(args, select(largest), workload.load(workload.LIGHT_VARS_FILE), out)
    (out / "probe.sh").write_text(workload.floor_probe(bench.data), encoding="utf-8")
    return bench


def forks(args: argparse.Namespace, count: int) -> int:
    """Hosts at once, for configurator (--forks) and the floor alike: --light-forks, else configurator's default."""
    return min(count, args.light_forks or DEFAULT_FORKS)


def converge(bench: session.Bench, hosts: hostset.HostSet) -> None:
    """An untimed converging run, so that the measured runs find every host converged."""
    cmd = session.command(bench, "configurator", hosts, bench.data, f"light-{len(hosts.hosts)}h-setup")
    run = measure.run([*cmd.argv, "--forks", str(SETUP_FORKS)], bench.log(f"light-{len(hosts.hosts)}h-setup"),
                      env=cmd.env)
    if run.code not in (0, 2):
        raise SystemExit(f"bench: converging {len(hosts.hosts)} light hosts failed, see {run.log}")
    session.say(f"  converging run (untimed, --forks {SETUP_FORKS}): {run.seconds:.1f}s")


def measured(bench: session.Bench, tool: str, hosts: hostset.HostSet) -> table.Row:
    """The converged runs of one tool on these hosts; tree RSS sampled on the first."""
    name = f"{tool}-{len(hosts.hosts)}light"
    row = table.Row(tool, len(hosts.hosts), workload.resource_count(bench.data))
    parallel = forks(bench.args, len(hosts.hosts))
    cmd = session.command(bench, tool, hosts, bench.data, name)
    if tool == "configurator":
        cmd = tools.Command([*cmd.argv, "--forks", str(parallel)], cmd.env, cmd.report)
    else:
        cmd = tools.floor(hosts, bench.out / "probe.sh", parallel)
    for index in range(bench.args.runs):
        result, changes = session.timed(bench, tool, cmd, f"{name}-conv{index + 1}", sample=index == 0)
        row.converged.append(result)
        row.converged_changes.append(changes)
    return row


def figures(rows: list[table.Row]) -> list[str]:
    """Per size: configurator / floor, controller CPU per host, peak RSS; then growth per host."""
    conf = {r.hosts: r for r in rows if r.tool == "configurator"}
    floor = {r.hosts: r for r in rows if r.tool == "floor"}
    lines = []
    for count, row in sorted(conf.items()):
        lines.append(f"{count} light hosts: configurator / floor {table.ratio(row.conv, floor[count].conv):.2f}x, "
                     f"controller CPU {row.conv_cpu / count * 1000:.1f} ms a host, peak RSS {row.max_rss:.0f} MB "
                     f"(tree {row.tree_rss:.0f} MB)")
    counts = sorted(conf)
    for few, many in zip(counts, counts[1:], strict=False):
        for name, by in (("configurator", conf), ("floor", floor)):
            wall = (by[many].conv - by[few].conv) / (many - few) * 1000
            cpu = (by[many].conv_cpu - by[few].conv_cpu) / (many - few) * 1000
            lines.append(f"{name}, per extra light host ({few} -> {many}): {wall:.1f} ms wall, {cpu:.1f} ms CPU")
    return lines


def run(args: argparse.Namespace) -> int:
    """The whole light-host run: every size, the table and the figures, saved like the main run's."""
    started = session.load()
    bench = setup(args)
    rows: list[table.Row] = []
    for count in args.light_hosts:
        hosts = bench.hosts.first(count)
        session.say(f"{count} light hosts ({workload.resource_count(bench.data)} resources each)")
        converge(bench, hosts)
        rows += [measured(bench, "configurator", hosts), measured(bench, "floor", hosts)]
    text = (f"{session.revision()}; at start: {started}; at the end: {session.load()} ({os.cpu_count()} cores)\n\n"
            + table.render(rows, args.runs) + "\n" + "\n".join(figures(rows)) + "\n")
    session.save(bench, rows, text)
    print("\n" + text)
    return 1 if any(r.failed for r in rows) else 0

