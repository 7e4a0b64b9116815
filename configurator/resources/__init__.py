"""Resource types: each a frozen value with probe → plan → checks, registered by name."""

from __future__ import annotations

from configurator.resources.file import Directory, File, Link
from configurator.resources.package import Package
from configurator.resources.service import Service

# type name in role.yml -> class; `template` is a File whose content is rendered locally
TYPES: dict[str, type] = {
    "package": Package,
    "service": Service,
    "file": File,
    "template": File,
    "directory": Directory,
    "link": Link,
}
