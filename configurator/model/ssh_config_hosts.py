"""An ssh_config file (or saved `vagrant ssh-config` output) as a host list.

Each `Host NAME` block without wildcards is a host; `HostName`, `Port`, `User` and `IdentityFile`
become its address and ssh settings. `StrictHostKeyChecking` and `UserKnownHostsFile` are ignored on
purpose (Vagrant writes `no` and /dev/null): host keys stay checked against the inventory's known_hosts.
"""

from __future__ import annotations

import re
from pathlib import Path

from configurator.errors import InputError, Location
from configurator.model.ansible_draft import Draft, Written

SETTINGS = {"hostname": "ansible_host", "port": "ansible_port", "user": "ansible_user",
            "identityfile": "ansible_ssh_private_key_file"}
_LINE = re.compile(r"^\s*([A-Za-z]+)(?:\s*=\s*|\s+)(.*?)\s*\Z")
_FIRST = re.compile(r"^\s*(Host|Match)(\s|=)", re.IGNORECASE)


def looks_like(text: str) -> bool:
    """Whether the first line that is not blank or a comment opens a `Host` or `Match` block."""
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return bool(_FIRST.match(line))
    return False


def parse(text: str, path: Path) -> Draft:
    """The draft inventory (hosts only, no groups) of an ssh_config text."""
    draft = Draft(path)
    current: list[dict[str, Written]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        at = Location(str(path), number)
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        match = _LINE.match(raw)
        if not match:
            raise InputError(f"not an ssh_config line: {raw.strip()[:60]!r}", at, "KEYWORD VALUE")
        key, value = match.group(1).lower(), match.group(2).strip('"')
        if key == "host":
            names = [n for n in value.split() if not any(c in n for c in "*?!")]
            current = [draft.host(name, at) for name in names]
        elif key == "match":
            current = []  # conditional blocks name no host
        elif key in SETTINGS:
            for values in current:
                values.setdefault(SETTINGS[key], (int(value) if value.isdigit() else value, at))
    return draft
