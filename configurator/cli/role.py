"""`configure role new NAME`: role authoring."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any, name: str, text: str) -> None:
    """Register `configure role new NAME [--path roles]`."""
    p = sub.add_parser(name, help=text)
    role_sub = p.add_subparsers(dest="role_command", required=True, parser_class=type(p))
    p = role_sub.add_parser("new", help="scaffold a role with a resource, a template and a test")
    p.add_argument("name")
    p.add_argument("--path", type=Path, default=Path("roles"), help="parent folder (default: ./roles)")
    p.set_defaults(func=cmd_role_new)


def cmd_role_new(args: argparse.Namespace) -> int:
    """Scaffold a role."""
    from configurator.model import scaffold

    folder = scaffold.new_role(args.name, args.path)
    print(f"created {folder}: edit role.yml, then `configure verify` runs tests/test_{args.name}.py")
    return 0
