"""The account databases through `getent`: one name at a time, or many in one call."""

from __future__ import annotations

import re
from collections.abc import Sequence

from configurator.actions import quote


def one(database: str, name: str, key: str) -> str:
    """sh that prints `key=<entry>`, `key=absent` (exit 2: no such name) or `key_error=<rc>`."""
    return (f"e=$(getent {database} -- {quote(name)}); r=$?\n"
            f'if [ $r = 0 ]; then echo "{key}=$e"\n'
            f"elif [ $r = 2 ]; then echo {key}=absent\n"
            f'else echo "{key}_error=$r"; fi\n')


def many(database: str, names: Sequence[str]) -> str:
    """sh for one `getent` of many names (no names: the whole database), then its exit status."""
    keys = "".join(f" {quote(n)}" for n in dict.fromkeys(names))
    return f"getent {database}{' --' + keys if keys else ''}; echo \"--rc $?\"\n"


def results(text: str) -> list[tuple[list[str], str]]:
    """Each `many` in the output: its entries and its exit status."""
    parts = re.split(r"^--rc (\S*)\n", text, flags=re.M)
    return [([e for e in parts[i].splitlines() if ":" in e], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]


def matched(key: str, names: Sequence[str], results: list[tuple[list[str], str]]) -> list[str]:
    """Per name, the line `one` prints for it: `key=<entry>`, `key=absent` or `key_error=<rc>`."""
    entries, status = results[0] if results else ([], "missing")
    if status not in ("0", "2"):
        return [f"{key}_error={status}"] * len(names)
    unique = list(dict.fromkeys(names))
    if status == "0" and len(entries) == len(unique):  # one entry per name, in order
        by_name = dict(zip(unique, entries, strict=True))
    else:
        by_name = {entry.split(":", 1)[0]: entry for entry in entries}
    # an entry under another name than asked (NSS aliases) makes the missing ones unsure
    gone = f"{key}_error=unmatched" if set(by_name) - set(unique) else f"{key}=absent"
    return [f"{key}={by_name[n]}" if n in by_name else gone for n in names]


def memberships(entry: str, groups: list[str]) -> str:
    """`primary=` and `groups=` as `id -gn` and `id -Gn` print them, from the group database."""
    fields = entry.split(":")
    if len(fields) != 7:
        return ""
    by_gid: dict[str, str] = {}
    member_of: list[str] = []
    for line in groups:
        name, _, gid, members = (line.split(":") + [""] * 4)[:4]
        by_gid.setdefault(gid, name)
        if fields[0] in members.split(","):
            member_of.append(gid)
    primary = by_gid.get(fields[3], fields[3])
    rest = [by_gid[gid] for gid in dict.fromkeys(member_of) if gid != fields[3]]
    return f"primary={primary}\ngroups={' '.join([primary, *rest])}\n"
