"""Executable inventories speaking Ansible's JSON protocol: `SCRIPT --list` (and `--host NAME` without `_meta`).

The script runs in its own folder with a timeout; a non-zero exit, a timeout, more than 10 MiB of output
(read whole first) or output that is not the expected JSON is bad input (exit 65) naming the script, and the
line for bad JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from configurator.errors import InputError, Location
from configurator.model.ansible_draft import Draft, expand
from configurator.model.loader import MAX_SIZE

TIMEOUT_ENV = "CONFIGURE_INVENTORY_TIMEOUT"
DEFAULT_TIMEOUT = 60.0  # seconds for one run of the script
MAX_HOST_CALLS = 1000  # `--host NAME` calls when the output has no `_meta`


def timeout() -> float:
    """Seconds one run of the script may take: $CONFIGURE_INVENTORY_TIMEOUT, else 60."""
    text = os.environ.get(TIMEOUT_ENV, "")
    try:
        value = float(text) if text else DEFAULT_TIMEOUT
    except ValueError:
        raise InputError(f"${TIMEOUT_ENV} must be a number of seconds, got {text!r}") from None
    return value if value > 0 else DEFAULT_TIMEOUT


def run(path: Path, *argv: str) -> Any:
    """The JSON the script prints for `argv`; errors name the script and what went wrong."""
    what = f"{path} {' '.join(argv)}"
    limit = timeout()
    try:
        # the absolute path: it runs in its own folder, where a relative one would name another file
        done = subprocess.run([str(path.resolve()), *argv], capture_output=True, timeout=limit, check=False,
                              stdin=subprocess.DEVNULL, cwd=path.parent)
    except subprocess.TimeoutExpired:
        raise InputError(f"the inventory script did not finish within {limit:g}s", Location(what),
                         f"set ${TIMEOUT_ENV} to wait longer") from None
    except OSError as exc:
        raise InputError(f"cannot run the inventory script: {exc.strerror or exc}", Location(what)) from None
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise InputError(f"the inventory script exited with status {done.returncode}", Location(what),
                         " / ".join(tail) or "it printed nothing on stderr")
    if len(done.stdout) > MAX_SIZE:
        raise InputError(f"the inventory script printed more than {MAX_SIZE // 2**20} MiB", Location(what))
    try:
        return json.loads(done.stdout.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"the output is not UTF-8 (byte {exc.start})", Location(what)) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"the output is not valid JSON: {exc.msg} (column {exc.colno})",
                         Location(f"{what} (output)", exc.lineno), "the script must print one JSON object") from None


def load(path: Path) -> Draft:
    """The draft inventory of a dynamic inventory script."""
    data = _object(run(path, "--list"), "the --list output", Location(f"{path} --list"))
    draft = Draft(path)
    at = Location(f"{path} --list")
    meta = data.pop("_meta", None)
    for name, spec in data.items():
        _group(draft, str(name), spec, at)
    hostvars = _object(meta, "_meta", at).get("hostvars") if meta is not None else None
    if hostvars is None and meta is None:
        hostvars = _each_host(path, draft)
    for host, values in _object(hostvars or {}, "_meta.hostvars", at).items():
        if host in draft.hosts:
            draft.host_vars[host].update({k: (v, at) for k, v in _object(values, f"hostvars of {host}", at).items()})
    return draft


def _object(value: Any, what: str, at: Location) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a JSON object, got {type(value).__name__}", at)
    return value


def _names(value: Any, what: str, at: Location) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{what} must be a list of names", at)
    return value


def _group(draft: Draft, name: str, spec: Any, at: Location) -> None:
    """`"group": [hosts]` or `"group": {"hosts": [...], "children": [...], "vars": {...}}`."""
    group = draft.group(name, at)
    body = {"hosts": spec} if isinstance(spec, list) else _object(spec, f"group {name}", at)
    for pattern in _names(body.get("hosts", []), f"group {name} hosts", at):
        for host in expand(pattern, at):
            draft.host(host, at, name)
    for child in _names(body.get("children", []), f"group {name} children", at):
        draft.group(child, at)
        group.add_child(child, at)
    group.vars.update({k: (v, at) for k, v in _object(body.get("vars", {}), f"group {name} vars", at).items()})


def _each_host(path: Path, draft: Draft) -> dict[str, Any]:
    """Old scripts without `_meta`: one `--host NAME` run per host (bounded)."""
    if len(draft.hosts) > MAX_HOST_CALLS:
        raise InputError(f"the --list output has no _meta and more than {MAX_HOST_CALLS} hosts",
                         Location(f"{path} --list"), "print _meta.hostvars")
    return {host: run(path, "--host", host) for host in draft.hosts}
