"""Files whose content is a jinja2 template from the role, rendered on the control machine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from configurator.resources.file import File


@dataclass(frozen=True)
class Template(File):
    """A regular file whose content is rendered from a template of the role (or absent).

    Example: `template: {path: /etc/nginx/nginx.conf, src: nginx.conf.j2, mode: "0644"}`

    `template` takes `src` (a file in the role's `templates/`, rendered with jinja2 on the
    control machine) instead of `content`; everything else is as for `file`, and it is a
    `file[...]` in plans and reports.
    """

    source_folder: ClassVar[str] = "templates"
    renders_source: ClassVar[bool] = True
