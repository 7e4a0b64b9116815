"""Local accounts: the names useradd/groupadd accept, and the databases read through `getent`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from configurator.engine.actions import quote
from configurator.resources.sections import split_marked

STATUS = re.compile(r"(\S*)")  # getent's exit status after the marker

# What useradd/groupadd accept on Debian, minus the oddities: no leading digit, '-' or '.'.
ACCOUNT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?\Z")


@dataclass(frozen=True)
class Lookup:
    """One name's answer from an account database: its entry, None when there is no such name, or an error."""

    entry: str | None = None
    error: str = ""  # why the database did not answer ("" when it did)


def lookup(fields: dict[str, str], key: str) -> Lookup:
    """The answer `one` printed as `key=<entry>`, `key=absent` or `key_error=<rc>`."""
    if key in fields:
        return Lookup(None if fields[key] == "absent" else fields[key])
    return Lookup(None, fields.get(f"{key}_error", "not read"))


def name_problems(what: str, name: str) -> list[str]:
    """Why `name` is not a usable user or group name (empty when it is)."""
    if ACCOUNT_NAME.match(name):
        return []
    return [f"{what} name {name!r} is not valid: use at most 32 letters, digits, '_', '.' or '-', "
            "starting with a letter or '_'"]


def one(database: str, name: str, key: str) -> str:
    """sh that prints `key=<entry>`, `key=absent` (exit 2: no such name) or `key_error=<rc>`."""
    return (f"e=$(getent {database} -- {quote(name)}); r=$?\n"
            f'if [ $r = 0 ]; then echo "{key}=$e"\n'
            f"elif [ $r = 2 ]; then echo {key}=absent\n"
            f'else echo "{key}_error=$r"; fi\n')


def many(database: str, names: Sequence[str], mark: str) -> str:
    """sh for one `getent` of many names (no names: the whole database), then `mark` and its exit status."""
    keys = "".join(f" {quote(n)}" for n in dict.fromkeys(names))
    return f"getent {database}{' --' + keys if keys else ''}; echo {quote(mark)} $?\n"


def results(text: str, mark: str) -> list[tuple[list[str], str]]:
    """Each `many` in the output: its entries (one a line: a GECOS may hold \\r or U+2028) and exit status."""
    parts = split_marked(text, f"{mark} ", STATUS)
    return [([e for e in parts[i].split("\n") if ":" in e], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]


def matched(names: Sequence[str], results: list[tuple[list[str], str]]) -> list[Lookup]:
    """Per name, what `one` would have said of it."""
    entries, status = results[0] if results else ([], "missing")
    if status not in ("0", "2"):
        return [Lookup(None, status)] * len(names)
    unique = list(dict.fromkeys(names))
    if status == "0" and len(entries) == len(unique):  # one entry per name, in order
        by_name = dict(zip(unique, entries, strict=True))
    else:
        by_name = {entry.split(":", 1)[0]: entry for entry in entries}
    # an entry under another name than asked (NSS aliases) makes the missing ones unsure
    gone = Lookup(None, "unmatched") if set(by_name) - set(unique) else Lookup()
    return [Lookup(by_name[n]) if n in by_name else gone for n in names]
