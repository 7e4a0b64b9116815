"""`configure verify`: parse, verify every selected host, report, pick the exit code."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from configurator.checks import verify
from configurator.checks.results import host_status
from configurator.cli import arguments
from configurator.cli.commands import load_catalogs
from configurator.engine import exitcodes
from configurator.model.catalog import Catalog
from configurator.output import junit, report
from configurator.output import verify as view


def load_checked_catalogs(args: argparse.Namespace) -> list[Catalog]:
    """The selected hosts' catalogs, role tests loaded: a bad test is bad input (exit 65) before any connection."""
    _, catalogs = load_catalogs(args)
    for catalog in catalogs:
        verify.load_role_tests(catalog)
    return catalogs


def cmd_verify(args: argparse.Namespace) -> int:
    """verify."""
    catalogs = load_checked_catalogs(args)
    redact = args.redactor.redact
    console = report.Console(verbose=args.verbose, redact=redact)
    by_host = verify.verify_all(catalogs, arguments.run_options(args),
                                lambda host, results: console.write(view.lines(host, results, args.verbose)))
    if args.json:
        report.write_json(args.json, view.as_json(by_host, redact))
    if args.junit:
        junit.write(args.junit, "configure verify", view.junit_cases(by_host, redact))
    code = exitcodes.verify(host_status(r) for r in by_host.values())
    console.write(view.summary(by_host, code))
    return code


def add_parser(subparsers: Any, name: str, text: str) -> None:
    """Register `configure verify`."""
    p = subparsers.add_parser(name, help=text)
    arguments.remote(p)
    p.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report here")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report here")
    p.add_argument("--verbose", "-v", action="count", default=0, help="list passing checks too")
    p.set_defaults(func=cmd_verify)
