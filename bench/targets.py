"""The issue's targets, computed from the rows of a run."""

from __future__ import annotations

import math

from table import Row, Target, ratio

NAN = float("nan")


def find(rows: list[Row], tool: str, hosts: int, resources: int) -> Row | None:
    """The row of `tool` for that many hosts and resources per host."""
    return next((r for r in rows if (r.tool, r.hosts, r.resources) == (tool, hosts, resources)), None)


def conv_time(row: Row | None) -> float:
    """The median converged time of a row that ran and never failed (NaN otherwise)."""
    return row.conv if row is not None and row.converged and not row.failed else NAN


def first_time(row: Row | None) -> float:
    """The time of a row's first run when it succeeded (NaN otherwise)."""
    return row.first.seconds if row is not None and row.first is not None and row.first.ok else NAN


def per_resource(small: Row | None, big: Row | None) -> float:
    """Seconds per extra resource between two converged runs of different sizes."""
    if small is None or big is None or big.resources == small.resources:
        return NAN
    return (conv_time(big) - conv_time(small)) / (big.resources - small.resources)


def per_host(few: Row | None, many: Row | None) -> float:
    """Seconds per extra host between two converged runs of the same workload."""
    if few is None or many is None or many.hosts == few.hosts:
        return NAN
    return (conv_time(many) - conv_time(few)) / (many.hosts - few.hosts)


def compute(rows: list[Row], hosts: int, resources: int, big_resources: int, big_hosts: int) -> list[Target]:
    """Every target of the issue (NOT MEASURED where its rows are missing)."""
    conf = find(rows, "configurator", hosts, resources)
    big_conf, big_floor = find(rows, "configurator", big_hosts, resources), find(rows, "floor", big_hosts, resources)
    # the issue sets the CPU target for the scale run; at 5 hosts the fixed start-up cost dominates
    cpu_row = big_conf if big_conf is not None and big_conf.converged else conf
    cpu = cpu_row.conv_cpu / cpu_row.hosts if cpu_row is not None and cpu_row.converged else NAN
    memory = max((r.max_rss for r in rows if r.tool == "configurator"), default=NAN)
    return [
        Target(f"converged, {hosts} hosts: pyinfra / configurator",
               ratio(conv_time(find(rows, "pyinfra", hosts, resources)), conv_time(conf)), 5, "×", True),
        Target(f"converged, {hosts} hosts: ansible / configurator",
               ratio(conv_time(find(rows, "ansible", hosts, resources)), conv_time(conf)), 50, "×", True),
        Target(f"converged, {hosts} hosts: configurator / floor",
               ratio(conv_time(conf), conv_time(find(rows, "floor", hosts, resources))), 1.5, "×"),
        Target(f"converged, {hosts} hosts: time per extra resource ({resources} -> {big_resources})",
               per_resource(conf, find(rows, "configurator", hosts, big_resources)) * 1000, 1, " ms"),
        Target(f"converged, {big_hosts} hosts: configurator / floor", ratio(conv_time(big_conf), conv_time(big_floor)),
               1.5, "×"),
        Target(f"control CPU per host (converged, {cpu_row.hosts if cpu_row else hosts} hosts)", cpu * 1000, 30,
               " ms"),
        Target("peak memory of configurator (largest RSS, any run)", memory, 200, " MB"),
        Target(f"first run, {hosts} hosts: configurator / pyinfra",
               ratio(first_time(conf), first_time(find(rows, "pyinfra", hosts, resources))), 1, "×"),
    ]


def _ms(seconds: float, digits: int = 1) -> str:
    return "not measured" if math.isnan(seconds) else f"{seconds * 1000:.{digits}f} ms"


def growth(rows: list[Row], hosts: int, resources: int, big_resources: int, big_hosts: int) -> list[str]:
    """How the converged time (and control CPU) grows with resources and with hosts."""
    conf, big = find(rows, "configurator", hosts, resources), find(rows, "configurator", hosts, big_resources)
    lines = [f"configurator, per extra resource ({resources} -> {big_resources}, {hosts} hosts): "
             f"{_ms(per_resource(conf, big), 2)} wall"]
    if conf and big and conf.converged and big.converged:
        cpu = (big.conv_cpu - conf.conv_cpu) / (big_resources - resources) / hosts
        lines.append(f"configurator, control CPU per extra resource per host: {_ms(cpu, 2)}")
    one = find(rows, "configurator", 1, resources)
    if conf and one and conf.converged and one.converged and hosts > 1:
        lines.append(f"configurator, control CPU per extra host (1 -> {hosts} hosts): "
                     f"{_ms((conf.conv_cpu - one.conv_cpu) / (hosts - 1))}; fixed (1 host): {_ms(one.conv_cpu)}")
    for tool in ("configurator", "floor"):
        for few, many in ((1, hosts), (hosts, big_hosts)):
            step = per_host(find(rows, tool, few, resources), find(rows, tool, many, resources))
            lines.append(f"{tool}, per extra host ({few} -> {many} hosts): {_ms(step)} wall")
    return lines
