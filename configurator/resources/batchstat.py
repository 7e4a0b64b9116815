"""Metadata and checksums of many paths in one command each, as NUL-terminated records.

Paths are printed as they are (no escaping) and each record ends in NUL, the one byte a path
cannot hold: a name with `\\r`, `\\f`, U+2028, `|` or a backslash reads back exactly. (A newline
in a path is refused by the schema, but would read back exactly too.)
"""

from __future__ import annotations

from configurator.engine.actions import quote


def stat_many(paths: list[str]) -> str:
    """One `stat` for many paths: `type|mode|owner|group|path` records (missing paths print nothing)."""
    return "stat --printf '%F|%a|%U|%G|%n\\0' -- " + " ".join(quote(p) for p in paths) + "\n"


def sums_many(paths: list[str]) -> str:
    """One `sha256sum` of those of `paths` that are regular files (never a FIFO): `digest  path` records."""
    return ("set --\n"
            f'for p in {" ".join(quote(p) for p in paths)}; do '
            'if [ -f "$p" ] && [ ! -L "$p" ]; then set -- "$@" "$p"; fi; done\n'
            'if [ $# -gt 0 ]; then sha256sum -z -- "$@"; fi\n')


def records(text: str) -> list[str]:
    """The complete NUL-terminated records of `text` (a last one cut short is dropped)."""
    return text.split("\0")[:-1]


def parse_stat_many(text: str) -> dict[str, dict[str, str]]:
    """path -> {type, mode, owner, group} from `stat_many` output; a symlink's type is `link`."""
    found: dict[str, dict[str, str]] = {}
    for record in records(text):
        parts = record.split("|", 4)  # the path comes last: a `|` in it stays in it
        if len(parts) == 5:
            kind = "link" if parts[0] == "symbolic link" else parts[0]
            found[parts[4]] = {"type": kind, "mode": parts[1], "owner": parts[2], "group": parts[3]}
    return found


def parse_sums(text: str) -> dict[str, str]:
    """path -> sha256 from `sha256sum -z` output (names are not escaped with -z)."""
    sums: dict[str, str] = {}
    for record in records(text):
        digest, sep, name = record.partition("  ")
        if sep:
            sums[name] = digest
    return sums
