"""The results: one row per tool and setting, ratios against configurator, and the targets."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from measure import Measured, median


@dataclass
class Row:
    """One tool on one set of hosts and one workload size."""

    tool: str
    hosts: int
    resources: int
    first: Measured | None = None
    first_changes: int | None = None
    converged: list[Measured] = field(default_factory=list)
    converged_changes: list[int | None] = field(default_factory=list)

    @property
    def runs(self) -> list[Measured]:
        return ([self.first] if self.first else []) + self.converged

    @property
    def failed(self) -> bool:
        return any(not m.ok for m in self.runs)

    @property
    def conv(self) -> float:
        return median([m.seconds for m in self.converged])

    @property
    def conv_cpu(self) -> float:
        return median([m.cpu for m in self.converged])

    @property
    def max_rss(self) -> float:
        return max((m.max_rss_mb for m in self.runs), default=float("nan"))

    @property
    def tree_rss(self) -> float:
        return max((m.tree_rss_mb for m in self.runs), default=float("nan"))

    def changes(self) -> str:
        if self.tool in ("floor", "manual"):  # neither reports changes
            return "-"
        first = "-" if self.first is None else _count(self.first_changes)
        later = sorted({_count(c) for c in self.converged_changes}) or ["-"]
        return f"{first}/{','.join(later)}"


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


def _num(value: float, digits: int = 2) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def ratio(value: float, base: float) -> float:
    """value / base, NaN when either is missing."""
    if value is None or base is None or math.isnan(value) or math.isnan(base) or base == 0:
        return float("nan")
    return value / base


HEADER = ("tool", "hosts", "res/host", "first s", "conv s (median)", "changes first/conv", "conv CPU s",
          "max RSS MB", "tree RSS MB", "first ×conf", "conv ×conf")


def render(rows: list[Row], runs: int) -> str:
    """The table as aligned text; ratios are against the configurator row of the same hosts and size."""
    base = {(r.hosts, r.resources): r for r in rows if r.tool == "configurator"}
    lines = [list(HEADER)]
    for row in rows:
        ref = base.get((row.hosts, row.resources))
        first = row.first.seconds if row.first else float("nan")
        ref_first = ref.first.seconds if ref and ref.first else float("nan")
        lines.append([row.tool + (" (FAILED)" if row.failed else ""), str(row.hosts), str(row.resources),
                      _num(first), f"{_num(row.conv, 3)} (n={len(row.converged)})", row.changes(),
                      _num(row.conv_cpu), _num(row.max_rss, 0), _num(row.tree_rss, 0),
                      _num(ratio(first, ref_first)), _num(ratio(row.conv, ref.conv if ref else float("nan")))])
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text) + f"\n(converged: median of {runs} runs; changes in each tool's own unit)\n"


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float
    unit: str
    higher_is_better: bool = False

    @property
    def met(self) -> bool | None:
        if math.isnan(self.value):
            return None
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def line(self) -> str:
        word = {True: "MET", False: "MISSED", None: "NOT MEASURED"}[self.met]
        sign = "≥" if self.higher_is_better else "≤"
        return f"{word:<12} {self.name}: {_num(self.value, 3)}{self.unit} (target {sign} {self.limit:g}{self.unit})"
