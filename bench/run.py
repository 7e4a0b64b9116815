"""Benchmark configurator against pyinfra, Ansible and the floor on the same sandbox hosts.

    python3 bench/run.py [--hosts 5] [--runs 5] [--big-hosts 50] [--profile]
    python3 bench/run.py --light-hosts 100,300,1000     # the light-host scale run alone (bench/light.py)
    python3 bench/run.py --delay 100 [--peer-runs 1]    # the comparison 100 ms away (bench/distance.py)

Creates bench/.venv (pinned peers + this project) on first use and runs itself again in it.
Writes logs, inventories and results.json under bench/results/; prints the table.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

import venvs

HERE = Path(__file__).resolve().parent
TOOLS = ("configurator", "pyinfra", "ansible")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=5, help="hosts of the main comparison (default 5)")
    parser.add_argument("--first-node", type=int, default=13,
                        help="use node<N>.. of the sandbox (default 13: node1-12 belong to the tests)")
    parser.add_argument("--runs", type=int, default=5, help="converged runs per tool (median; at least 3)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of " + ",".join(TOOLS))
    parser.add_argument("--big-files", type=int, default=190,
                        help="templated files of the large workload (190 -> 203 resources; 0 skips it)")
    parser.add_argument("--big-hosts", type=int, default=0, help="also run configurator and the floor on this "
                        "many hosts (e.g. 50; 0 skips it)")
    parser.add_argument("--profile", action="store_true", help="profile a converged configurator run")
    parser.add_argument("--light-hosts", type=light_sizes, default=[], metavar="N[,N...]",
                        help="instead of the comparison: configurator and the floor, converged, on light1..lightN "
                        "(sshd-only sandbox hosts) for each N, e.g. 100,300,1000 (results in results/light)")
    parser.add_argument("--light-forks", type=int, default=0,
                        help="hosts at once on light hosts, for configurator (--forks) and the floor alike "
                        "(default 64, configurator's default)")
    parser.add_argument("--delay", type=float, default=None, metavar="MS",
                        help="instead of the comparison: the comparison with MS of round trip added between this "
                        "machine and the hosts (MS/2 each way, `configure sandbox netem`), the manual baseline and "
                        "configurator's round trips (results in results/delay-MSms)")
    parser.add_argument("--peer-runs", type=int, default=None, metavar="N",
                        help="with --delay: converged runs of pyinfra and ansible (default: --runs; at least 1)")
    parser.add_argument("--out", type=Path, default=None, help="logs and results.json (default bench/results)")
    args = parser.parse_args(argv)
    args.out = args.out or HERE / "results" / folder(args)
    if args.runs < 3:
        parser.error("--runs must be at least 3")
    if args.delay is not None and (args.delay < 0 or args.light_hosts or args.big_hosts or args.profile):
        parser.error("--delay takes a round trip of 0 ms or more, and runs without --light-hosts, --big-hosts "
                     "and --profile")
    if args.peer_runs is not None and (args.delay is None or args.peer_runs < 1):
        parser.error("--peer-runs goes with --delay and is at least 1")
    return args


def folder(args: argparse.Namespace) -> str:
    """The results' folder under bench/results: its own for light hosts and for each delay."""
    if args.delay is not None:
        return f"delay-{args.delay:g}ms"
    return "light" if args.light_hosts else ""


def light_sizes(text: str) -> list[int]:
    """`100,300,1000` -> [100, 300, 1000] (ascending, each at least 1)."""
    try:
        found = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        found = []
    if not found or found[0] < 1:
        raise argparse.ArgumentTypeError(f"light host counts must be positive numbers: {text!r}")
    return found


def _wait(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C reaches the run in the virtualenv too, which cleans up (the delay) and ends on its own."""


def rerun(argv: list[str]) -> int:
    """This script again in the virtualenv; on Ctrl-C, wait for it rather than kill it mid-cleanup."""
    previous = signal.signal(signal.SIGINT, _wait)  # a Python handler: the child starts with the default again
    try:
        return venvs.rerun(Path(__file__), argv)
    finally:
        signal.signal(signal.SIGINT, previous)


def main(argv: list[str]) -> int:
    args = parse(argv)
    if not venvs.inside():
        venvs.ensure()
        return rerun(argv)
    if args.delay is not None:
        import distance  # the comparison at a distance, kept apart from the one on the LAN

        try:
            return distance.run(args)
        except KeyboardInterrupt:
            print("bench: interrupted; the delay is cleared, the next run resets the hosts", flush=True)
            return 130
    if args.light_hosts:
        import light  # the light-host scale run, kept apart from the comparison on full hosts

        return light.run(args)
    import session  # needs the virtualenv (yaml, psutil, paramiko, configurator)

    return session.run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
