"""`configure report merge OUT IN...`: join the JSON reports of a sharded run; exit as that one run would."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from configurator.output import report, report_merge


def add_parser(sub: Any, name: str, text: str) -> None:
    """Register `configure report merge`."""
    parser = sub.add_parser(name, help=text)
    actions = parser.add_subparsers(dest="report_action", required=True, parser_class=type(parser))
    merge = actions.add_parser("merge", help="join the JSON reports of the shards of one run into one report")
    merge.add_argument("out", type=Path, metavar="OUT.json", help="write the joined report here")
    merge.add_argument("reports", type=Path, nargs="+", metavar="IN.json", help="the shards' JSON reports")
    merge.add_argument("--detailed-exitcode", action="store_true",
                       help="apply reports: exit 2 when changes were made (as apply --detailed-exitcode)")
    merge.set_defaults(func=cmd_merge)


def cmd_merge(args: argparse.Namespace) -> int:
    """Read every report before writing anything; write the joined one; print its totals; exit with its code."""
    loaded = [(str(path), report_merge.load(path)) for path in args.reports]
    merged = report_merge.merge(loaded)
    code = report_merge.exit_code(merged, detailed=args.detailed_exitcode)
    report.write_json(args.out, merged)
    counts = ", ".join(f"{n} {status}" for status, n in report_merge.totals(merged).items()) or "no host"
    print(f"{args.out}: {merged['command']} of {len(merged['hosts'])} hosts from {len(loaded)} reports "
          f"({counts}); exit code {code}")
    return code
