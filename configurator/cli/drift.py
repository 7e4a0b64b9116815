"""`configure drift`: parse, run drift over the selected hosts, write the reports, pick the exit code;
`configure drift history`: print what the report folder's history remembers."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from configurator.checks import drift, history, waivers
from configurator.cli import arguments
from configurator.cli.verify import load_checked_catalogs
from configurator.engine import exitcodes
from configurator.errors import InputError
from configurator.model import tags
from configurator.output import drift as reports
from configurator.output.markdown import render as render_markdown

HISTORY = "history"  # `configure drift history`: the word in the inventory's place


def cmd_drift(args: argparse.Namespace) -> int:
    """drift (or drift history)."""
    if str(args.inventory) == HISTORY and not args.inventory.exists():
        return cmd_history(args)
    accepted = waivers.load(args.waivers) if args.waivers is not None else []  # bad input before any connection
    selection = arguments.selection(args)
    catalogs = [tags.select(c, selection) for c in load_checked_catalogs(args)]
    redact = args.redactor.redact
    folder: Path | None = args.report
    memory = drift.Memory(folder, args.history_days, redact)
    found = drift.run(catalogs, arguments.run_options(args, check=True), memory, accepted)
    text = render_markdown(found.hosts, found.classes, found.at, found.code, redact)
    if folder is not None:
        reports.write_reports(folder, found.hosts, found.classes, found.at, redact, text)
    if args.prometheus is not None:
        from configurator.output import prometheus

        prometheus.write(args.prometheus, prometheus.render(prometheus.from_drift(found, time.time())))
    if found.code != exitcodes.OK or not args.quiet:  # --quiet: cron mails only when there is news
        print(text, end="")
    return found.code


def cmd_history(args: argparse.Namespace) -> int:
    """drift history: each finding's first and last sighting and its evidence, from `--report DIR`."""
    folder: Path | None = args.report
    if folder is None or not (folder / "history.sqlite").is_file():
        raise InputError("`configure drift history` reads the history of a report folder: --report DIR "
                         "(where `configure drift --report DIR` keeps history.sqlite)")
    with history.History(folder / "history.sqlite") as db:
        rows = db.rows(args.host, args.since)
    print(reports.history_text(rows), end="")
    return exitcodes.OK


def add_parser(subparsers: Any, name: str, text: str) -> None:
    """Register `configure drift` (and `configure drift history`)."""
    p = subparsers.add_parser(name, help=text, description="configure drift INVENTORY [options] | "
                              "configure drift history --report DIR [--host H] [--since DATE]")
    arguments.remote(p)
    arguments.tagged(p)
    p.add_argument("--report", type=Path, metavar="DIR",
                   help="write drift.json, drift.xml, drift.md here and keep history.sqlite")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print the summary only when there is something to say (cron mails only then)")
    p.add_argument("--waivers", type=Path, metavar="FILE",
                   help="accepted findings (host, resource, reason, expires): shown as waived, not drift")
    p.add_argument("--prometheus", type=Path, metavar="FILE",
                   help="write the outcome as Prometheus text (node_exporter textfile collector; name it *.prom)")
    p.add_argument("--history-days", type=int, default=history.KEEP_DAYS, metavar="DAYS",
                   help=f"forget runs and resolved findings older than this (default {history.KEEP_DAYS})")
    p.add_argument("--host", help="history: only this host's findings")
    p.add_argument("--since", type=_date, metavar="DATE",
                   help="history: only findings seen on or after DATE (2026-11-01 or an ISO time, UTC)")
    p.set_defaults(func=cmd_drift)


def _date(text: str) -> str:
    """An ISO date or time as the history stores times (UTC, to the second)."""
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (e.g. 2026-11-01)") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).isoformat(timespec="seconds")
