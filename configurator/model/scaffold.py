"""`configure role new NAME`: a new role folder with a resource, a template, a test and a README."""

from __future__ import annotations

import re
from pathlib import Path

from configurator.errors import InputError, Location

ROLE_YML = """\
description: {name} (describe what this role makes a host be)
depends: []
defaults:
  {name}_motd: "managed by configurator"
resources:
  - package: {{name: tree}}
  - template: {{path: /etc/{name}.conf, src: {name}.conf.j2, mode: "0644"}}
handlers: {{}}
"""

TEMPLATE = """\
# {{{{ {name}_motd }}}} on {{{{ inventory_hostname }}}}
"""

TEST = '''\
"""Behaviour checks for the {name} role, run by `configure verify` with testinfra."""


def test_{name}_config_is_present(host, role_vars):
    config = host.file("/etc/{name}.conf")
    assert config.is_file
    assert role_vars["{name}_motd"] in config.content_string
'''

README = """\
# {name}

What this role does, in one paragraph.

| variable | default | meaning |
| --- | --- | --- |
| `{name}_motd` | `managed by configurator` | text written to /etc/{name}.conf |
"""


def new_role(name: str, parent: Path) -> Path:
    """Create roles/NAME with role.yml, a template, a testinfra test and a README; never overwrite."""
    if not re.match(r"^[a-z][a-z0-9_]*\Z", name):
        raise InputError(f"role name {name!r} must be lowercase letters, digits and '_'", Location("role new"))
    folder = parent / name
    if folder.exists():
        raise InputError(f"{folder} already exists; not overwriting it", Location(str(folder)))
    files = {"role.yml": ROLE_YML, f"templates/{name}.conf.j2": TEMPLATE,
             f"tests/test_{name}.py": TEST, "README.md": README, "files/.keep": ""}
    for relative, text in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.format(name=name), encoding="utf-8")
    return folder
