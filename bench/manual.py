"""The manual baseline: the workload's packages installed by hand, one ssh command per host.

Every host at once, one `ssh root@HOST apt-get install -y -q PACKAGES` each (one connection), with the
sandbox's key and known_hosts and strict checking, as the floor uses them; the hosts' own apt
configuration sends apt to the same proxy the tools get. Timed as a whole process, like a tool.

    python manual.py --key KEY --known-hosts FILE --packages nginx-light,cron,tree ADDRESS[:PORT]...

Standard library only.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time


def install_command(packages: list[str]) -> str:
    """The command run on each host (noninteractive, as every tool runs apt)."""
    return "DEBIAN_FRONTEND=noninteractive apt-get install -y -q " + " ".join(shlex.quote(p) for p in packages)


def ssh_argv(target: str, key: str, known_hosts: str, packages: list[str]) -> list[str]:
    """ssh to root@address[:port] with only this key and known_hosts (no user config, no agent, no prompt)."""
    address, _, port = target.partition(":")
    return ["ssh", "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes", "-p", port or "22", f"root@{address}", install_command(packages)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True)
    parser.add_argument("--known-hosts", required=True)
    parser.add_argument("--packages", required=True, help="comma-separated")
    parser.add_argument("addresses", nargs="+", metavar="ADDRESS[:PORT]")
    args = parser.parse_args(argv)
    packages = [p for p in args.packages.split(",") if p]
    started = time.perf_counter()
    running = [subprocess.Popen(ssh_argv(a, args.key, args.known_hosts, packages), stdin=subprocess.DEVNULL)
               for a in args.addresses]
    codes = [proc.wait() for proc in running]  # their output goes, interleaved, to this process's own
    for address, code in zip(args.addresses, codes, strict=True):
        print(f"{address} status={code}")
    print(f"{len(args.addresses)} hosts installed in {time.perf_counter() - started:.3f}s", flush=True)
    return 1 if any(codes) else 0


if __name__ == "__main__":
    sys.exit(main())
