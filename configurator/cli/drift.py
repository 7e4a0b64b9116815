"""`configure drift`: parse, run drift over the selected hosts, write the reports, pick the exit code."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from configurator.checks import drift
from configurator.cli import arguments
from configurator.cli.verify import load_checked_catalogs
from configurator.engine import exitcodes
from configurator.output import drift as reports
from configurator.output.markdown import render as render_markdown


def cmd_drift(args: argparse.Namespace) -> int:
    """drift."""
    catalogs = load_checked_catalogs(args)
    redact = args.redactor.redact
    folder: Path | None = args.report
    found = drift.run(catalogs, arguments.run_options(args, check=True), folder)
    text = render_markdown(found.hosts, found.classes, found.at, found.code, redact)
    if folder is not None:
        reports.write_reports(folder, found.hosts, found.classes, found.at, redact, text)
    if found.code != exitcodes.OK or not args.quiet:  # --quiet: cron mails only when there is news
        print(text, end="")
    return found.code


def add_parser(subparsers: Any, name: str, text: str) -> None:
    """Register `configure drift`."""
    p = subparsers.add_parser(name, help=text)
    arguments.remote(p)
    p.add_argument("--report", type=Path, metavar="DIR",
                   help="write drift.json, drift.xml, drift.md here and keep history.sqlite")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print the summary only when there is something to say (cron mails only then)")
    p.set_defaults(func=cmd_drift)
