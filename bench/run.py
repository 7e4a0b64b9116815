"""Benchmark configurator against pyinfra, Ansible and the floor on the same sandbox hosts.

    python3 bench/run.py [--hosts 5] [--runs 5] [--big-hosts 50] [--profile]

Creates bench/.venv (pinned peers + this project) on first use and runs itself again in it.
Writes logs, inventories and results.json under bench/results/; prints the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    parser.add_argument("--out", type=Path, default=HERE / "results", help="logs and results.json")
    args = parser.parse_args(argv)
    if args.runs < 3:
        parser.error("--runs must be at least 3")
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    if not venvs.inside():
        venvs.ensure()
        return venvs.rerun(Path(__file__), argv)
    import session  # needs the virtualenv (yaml, psutil, paramiko, configurator)

    return session.run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
