"""Resource types: each a frozen value with probe → plan → checks, registered by name."""

from __future__ import annotations

from configurator.resources.block import Block
from configurator.resources.command import Command
from configurator.resources.cron import Cron
from configurator.resources.file import Directory, File, Link
from configurator.resources.line import Line
from configurator.resources.package import Package
from configurator.resources.release import Release
from configurator.resources.service import Service
from configurator.resources.sysctl import Sysctl
from configurator.resources.user import Group, User
from configurator.resources.zone import Zone

# type name in role.yml -> class; `template` is a File whose content is rendered locally
TYPES: dict[str, type] = {
    "package": Package,
    "service": Service,
    "file": File,
    "template": File,
    "directory": Directory,
    "link": Link,
    "line": Line,
    "user": User,
    "group": Group,
    "command": Command,
    "sysctl": Sysctl,
    "cron": Cron,
    "block": Block,
    "release": Release,
    "zone": Zone,
}
