"""Two builds of configurator and the floor, converged runs interleaved round by round on the same hosts.

    python3 bench/ab.py --before OLD/bench/.venv/bin/configure --after bench/.venv/bin/configure \\
        --rounds 7 bench/results/inventories/configurator-5h-23r.yml bench/results/inventories/configurator-50h-23r.yml

Each round runs before, after and the floor one after another, so that a machine whose load drifts
(2 cores shared with every host) weighs on all three alike; the ratio to the floor is taken per round.
The hosts must be converged already (run bench/run.py first: it leaves its inventories and probe.sh).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SANDBOX = Path("/var/lib/configurator/sandbox")


def floor_argv(inventory: Path) -> list[str]:
    """The floor script over the inventory's hosts, every host at once."""
    hosts = yaml.safe_load(inventory.read_text(encoding="utf-8"))["hosts"].values()
    return [str(HERE / ".venv" / "bin" / "python"), str(HERE / "floor.py"), "--key", str(SANDBOX / "id_ed25519"),
            "--known-hosts", str(SANDBOX / "known_hosts"), "--script", str(HERE / "results" / "probe.sh"),
            "--parallel", "0", *[h["address"] for h in hosts]]


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the process and its children) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"ab: {argv[0]} exited {done.returncode}: {done.stderr[-500:]}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def compare(args: argparse.Namespace, inventory: Path) -> None:
    """Print each round, then medians and the ratios to the floor."""
    tools = {"before": [args.before, "apply", str(inventory)], "after": [args.after, "apply", str(inventory)],
             "floor": floor_argv(inventory)}
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in tools}
    for index in range(args.rounds):
        for name, argv in tools.items():
            found[name].append(timed(argv))
            wall, cpu = found[name][-1]
            print(f"{inventory.stem} {name} round {index + 1}: {wall:.3f} s, CPU {cpu:.2f} s", flush=True)
    floor = statistics.median(w for w, _ in found["floor"])
    for name, runs in found.items():
        walls = [w for w, _ in runs]
        per_round = statistics.median(w / f for (w, _), (f, _) in zip(runs, found["floor"], strict=True))
        print(f"{inventory.stem} {name}: median {statistics.median(walls):.3f} s, CPU "
              f"{statistics.median(c for _, c in runs):.2f} s, ×floor {statistics.median(walls) / floor:.3f} "
              f"(medians) {per_round:.3f} (per round)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the `configure` of the build to compare against")
    parser.add_argument("--after", required=True, help="the `configure` of the build under test")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("inventories", nargs="+", type=Path)
    args = parser.parse_args()
    for inventory in args.inventories:
        compare(args, inventory)


if __name__ == "__main__":
    main()
