"""Tags: `--tags` / `--skip-tags` pick the resources of a partial run by their tags and their role's."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from configurator.errors import InputError, Location

if TYPE_CHECKING:  # the catalog parses its tags with this module
    from configurator.model.catalog import Catalog

ALWAYS = "always"  # a resource tagged `always` runs under any --tags (unless --skip-tags names it)


def parse(value: Any, at: Location) -> tuple[str, ...]:
    """`tags:` in role.yml (of a role or a resource): a name or a list of names."""
    if value is None:
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise InputError("tags must be a name or a list of names", at, "e.g. `tags: [web, config]`")
    return tuple(n.strip() for n in names)


def from_option(values: list[str] | None) -> frozenset[str]:
    """The names of repeated or comma-separated `--tags a,b --tags c`."""
    return frozenset(n.strip() for v in values or [] for n in v.split(",") if n.strip())


@dataclass(frozen=True)
class Selection:
    """Which tags a run keeps (`only`, empty: all) and which it leaves out (`skip`, which wins)."""

    only: frozenset[str] = frozenset()
    skip: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        return bool(self.only or self.skip)

    def wants(self, tags: tuple[str, ...]) -> bool:
        """Whether a resource with these tags is part of the run."""
        names = set(tags)
        if names & self.skip:
            return False
        return not self.only or bool(names & self.only) or ALWAYS in names

    def describe(self) -> str:
        """`tags: web, db; skipping: slow` for the head of a partial run's output."""
        parts = [f"tags: {', '.join(sorted(self.only))}"] if self.only else []
        parts += [f"skipping tags: {', '.join(sorted(self.skip))}"] if self.skip else []
        return "; ".join(parts)


def select(catalog: Catalog, selection: Selection) -> Catalog:
    """The catalog with only the selected resources: the others are neither probed nor changed, so
    the handlers they notify cannot fire."""
    if not selection.active:
        return catalog
    return replace(catalog, entries=tuple(e for e in catalog.entries if selection.wants(e.tags)))
