"""Where a converged configurator run spends its time: cProfile over every thread, import time.

cProfile alone sees only the main thread, which just waits for the host threads; this driver
also starts a profiler in every new thread (threading.setprofile) and merges them all.

    python profiling.py OUT.prof configure-arguments...
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import threading
import time

_profiles: list[cProfile.Profile] = []


def _start_in_thread(*_: object) -> None:
    profile = cProfile.Profile()
    _profiles.append(profile)
    profile.enable()  # replaces this hook for the rest of the thread


def profile(argv: list[str], out: str) -> int:
    """Run `configure ARGV` in-process with every thread profiled; dump merged stats to `out`."""
    started = time.perf_counter()
    main = cProfile.Profile()
    main.enable()
    threading.setprofile(_start_in_thread)
    from configurator.cli import commands as cli

    code = cli.main(argv)
    main.disable()
    threading.setprofile(None)  # type: ignore[arg-type]
    stats = pstats.Stats(main)
    for each in _profiles:
        stats.add(each)
    stats.dump_stats(out)
    print(f"profiled run: exit {code}, {time.perf_counter() - started:.3f}s with the profiler on", file=sys.stderr)
    return code


KEY_FUNCTIONS = (
    ("cli/commands.py", "load_catalogs"), ("model/catalog.py", "build_catalog"),
    ("model/catalog.py", "_with_source"), ("resources/schema.py", "build"), ("typing.py", "get_type_hints"),
    ("pathlib.py", "resolve"), ("connections/ssh.py", "connect"), ("connections/ssh.py", "__init__"),
    ("engine/converge.py", "observe"), ("engine/converge.py", "converge"), ("engine/probe.py", "script"),
    ("engine/probe.py", "parse"), ("engine/plan.py", "decide_all"), ("engine/executor.py", "run_host"),
)


def key_functions(path: str) -> str:
    """Calls and cumulative seconds (summed over threads) of the functions that explain the run."""
    stats = pstats.Stats(path).stats  # type: ignore[attr-defined]
    lines = [f"{'function':<34} {'calls':>6} {'cum s':>8} {'ms/call':>8}"]
    for filename, name in KEY_FUNCTIONS:
        for (file, line, func), (_, calls, _, cumulative, _) in sorted(stats.items(), key=lambda kv: -kv[1][3]):
            if func == name and file.endswith("/" + filename) and cumulative >= 0.001:
                label = f"{filename}:{line}:{name}"
                lines.append(f"{label:<34} {calls:>6} {cumulative:>8.3f} {cumulative / calls * 1000:>8.2f}")
    return "\n".join(lines) + "\n"


def remote_probe(addresses: list[str], key: str, known_hosts: str, scripts: dict[str, str]) -> str:
    """Each probe script alone on open connections (no connect): 1 host, then all hosts at once."""
    import floor

    clients = [floor.connect(a, key, known_hosts) for a in addresses]
    lines = []
    try:
        for label, script in scripts.items():
            for count in (1, len(clients)):
                best = min(_probe_once(clients[:count], script) for _ in range(3))
                lines.append(f"{label}, {count} host(s) at once: {best * 1000:.0f} ms (best of 3)")
    finally:
        for client in clients:
            client.close()
    return "\n".join(lines) + "\n"


def _probe_once(clients: list, script: str) -> float:  # type: ignore[type-arg]
    import floor

    wrapped = f"sh -s <<'BENCH_PROBE_END'\n{script}\nBENCH_PROBE_END\n"
    threads = [threading.Thread(target=floor.run_script, args=(c, wrapped)) for c in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def configurator_probe(inventory_path: str, host: str) -> str:
    """The probe script configurator sends to `host` on a converged run."""
    from pathlib import Path

    from configurator.engine import probe
    from configurator.model import inventory
    from configurator.model.catalog import build_catalog
    from configurator.model.variables import parse_cli_vars

    inv = inventory.load(Path(inventory_path))
    catalog = build_catalog(inv.hosts[host], inv, parse_cli_vars([]))
    return probe.script([e.resource for e in catalog.entries], "bench0")


def summary(path: str, top: int = 25) -> str:
    """The top functions by cumulative time (summed over threads) and by own time."""
    text = io.StringIO()
    stats = pstats.Stats(path, stream=text)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return text.getvalue()


def import_breakdown(stderr: str, top: int = 12) -> str:
    """`python -X importtime` output summed by top-level package (self time, ms)."""
    totals: dict[str, int] = {}
    for line in stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[0].strip().split(":")[-1].strip().isdigit():
            continue
        package = parts[2].strip().split(".")[0]
        totals[package] = totals.get(package, 0) + int(parts[0].split(":")[-1])
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    total = sum(totals.values()) / 1000
    return f"imports, self time by top-level package (total {total:.0f} ms):\n" + "\n".join(
        f"  {name:<24} {micro / 1000:7.1f} ms" for name, micro in ranked) + "\n"


if __name__ == "__main__":
    sys.exit(profile(sys.argv[2:], sys.argv[1]))
