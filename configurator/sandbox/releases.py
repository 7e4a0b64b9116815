"""The Debian releases a sandbox host can run, and where each one's cached base lives."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import SandboxError
from .layout import CACHE_DIR

RELEASES = ("bullseye", "bookworm", "trixie")
DEFAULT = "bookworm"
# The tweaks each release's base carries; a base whose stamp differs gets them again.  Bookworm's
# stays at the version its cached bases already have, so this list never forces a rebuild there.
TWEAKS_VERSIONS = {"bullseye": "2", "bookworm": "2", "trixie": "2"}


def parse(name: str) -> str:
    """Return the release called ``name`` (case-insensitive), or raise naming the ones there are."""
    release = name.strip().lower()
    if release not in RELEASES:
        raise SandboxError(f"unknown Debian release {name!r}: choose one of {', '.join(RELEASES)}")
    return release


def parse_host_release(text: str) -> tuple[str, str]:
    """Parse ``NAME=RELEASE`` (as ``--host-release`` takes it) into (host name, release)."""
    name, sep, release = text.partition("=")
    if not sep or not name.strip():
        raise SandboxError(f"--host-release {text!r}: expected NAME=RELEASE, e.g. node29=bullseye")
    return name.strip(), parse(release)


def checked(releases: Mapping[str, str] | None) -> dict[str, str]:
    """Return ``releases`` (host name -> release) with every release validated."""
    return {name: parse(release) for name, release in (releases or {}).items()}


def base_dir(release: str, cache: Path = CACHE_DIR) -> Path:
    """Return the cached base root of ``release``: one per release, side by side."""
    return cache / f"base-{parse(release)}"


def cache_key(release: str) -> str:
    """Return what identifies a current base of ``release``: its directory name and tweaks stamp."""
    return f"{base_dir(release).name}@{TWEAKS_VERSIONS[parse(release)]}"


def wanted(names: Iterable[str], releases: Mapping[str, str], default: str | None) -> dict[str, str | None]:
    """Return each host's asked-for release: named in ``releases``, else ``default`` (None: any)."""
    return {name: releases.get(name, default) for name in names}
