"""`configure apply` and `configure check`: parse, run the hosts, report, pick the exit code."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from configurator.cli import arguments
from configurator.cli.commands import load_catalogs
from configurator.engine import executor, exitcodes, rollout
from configurator.errors import InputError, Location
from configurator.model import tags
from configurator.model.catalog import Catalog
from configurator.output import report

if TYPE_CHECKING:
    from configurator.checks.verify import Verifier
    from configurator.engine.saved_plan import SavedPlan


def add_parser(sub: Any, name: str, text: str) -> None:
    """Register `configure apply` or `configure check`."""
    p = arguments.targeted(sub, name, text, cmd_apply, over_hosts=True)
    arguments.tagged(p)
    p.add_argument("--diff", "-D", action="store_true", help="show unified diffs of file content")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report here")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report here")
    p.add_argument("--verbose", "-v", action="count", default=0)
    p.add_argument("--no-color", action="store_true", help="plain output (also when not a terminal, or CI=true)")
    p.add_argument("--svg", type=Path, metavar="FILE", help="also save the console output as an SVG picture")
    p.add_argument("--prometheus", type=Path, metavar="FILE",
                   help="write the outcome as Prometheus text (node_exporter textfile collector; name it *.prom)")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="check: save the reviewed plan here; `configure apply FILE` applies exactly it")
    p.set_defaults(check=name == "check")
    if name == "apply":
        p.add_argument("--check", action="store_true", help="same as `configure check`")
        p.add_argument("--detailed-exitcode", action="store_true", help="exit 2 when changes were made")
        p.add_argument("--yes", "-y", action="store_true", help="do not ask (apply never asks today)")
        p.add_argument("--verify", action="store_true",
                       help="verify each host after it converged; a failure stops the next batch (exit 4)")


def cmd_apply(args: argparse.Namespace) -> int:
    """apply / check (of an inventory, or of a saved plan)."""
    started = time.monotonic()
    saved = _saved(args)
    inv, catalogs = load_catalogs(args)
    catalogs = [tags.select(c, arguments.selection(args)) for c in catalogs]
    console = report.Console(diff=args.diff, verbose=args.verbose, redact=args.redactor.redact, plan=args.check,
                             color=False if args.no_color else None, record=bool(args.svg))
    options = _partial(args, console, catalogs, saved, arguments.run_options(args, check=args.check))
    verifier = _verifier(args, options, console)
    if verifier is not None:
        options = replace(options, after=verifier)
    verb = "check" if args.check else "apply"
    plan = rollout.batches(catalogs, inv)
    with ctrl_c(options), console.progress([c.host.name for c in catalogs], verb, plan.labels()) as advance:
        results = executor.run_all(plan, options, console.step, done=advance)
        if args.check:
            console.plan_view(results)
        console.recap(results, time.monotonic() - started)
        _write_reports(args, console, results)
    _interruption(console, options)
    code = exitcodes.apply(results, check=args.check, detailed=getattr(args, "detailed_exitcode", False),
                           verify_failed=verifier.failed_hosts() if verifier is not None else (),
                           interrupted=options.stop.is_set() or options.abort.is_set(),
                           hooks_failed=executor.hooks_failed(results))
    _write_outcome(args, console, results, time.monotonic() - started, code)
    return code


def _interruption(console: report.Console, options: executor.RunOptions) -> None:
    """What a Ctrl-C (or two) did, after the recap."""
    if options.abort.is_set():
        console.write("interrupted twice: the running steps were stopped on the hosts and their locks released\n")
    elif options.stop.is_set():
        console.write("interrupted: hosts finished their current step and started nothing new\n")


def _partial(args: argparse.Namespace, console: report.Console, catalogs: list[Catalog],
             saved: SavedPlan | None, options: executor.RunOptions) -> executor.RunOptions:
    """The options with a saved plan's gate; say what a saved plan or a partial run (tags) covers."""
    selection = arguments.selection(args)
    if saved is not None:
        from configurator.engine import saved_plan

        options = replace(options, work=saved_plan.gated(saved))
        console.write(f"Applying the plan of {saved.created} ({args.saved_plan}) to {len(catalogs)} hosts\n")
    if selection.active:
        selected = sum(len(c.entries) for c in catalogs)
        console.write(f"Partial run ({selection.describe()}): {selected} resources selected\n")
    return options


def _saved(args: argparse.Namespace) -> SavedPlan | None:
    """The saved plan `configure apply FILE` names (its inventory, hosts, tags and vars become the run's)."""
    if args.out is not None and not args.check:
        raise InputError("--out saves the plan of a check: use `configure check --out FILE`")
    if args.inventory.suffix != ".json":  # no plan: a run that names an inventory does not load the module
        return None
    from configurator.engine import saved_plan

    if not saved_plan.is_plan(args.inventory):
        return None
    if args.check:
        raise InputError("a saved plan is applied with `configure apply FILE`; check the inventory instead",
                         Location(str(args.inventory)))
    if args.limit or args.tags or args.skip_tags or args.var:
        raise InputError("a saved plan fixes its hosts, tags and vars: --limit, --tags, --skip-tags and --var "
                         "do not go with it", Location(str(args.inventory)))
    saved = saved_plan.load(args.inventory)
    if not saved.hosts:
        raise InputError("the saved plan has no host to apply", Location(str(args.inventory)))
    args.saved_plan, args.inventory = args.inventory, Path(saved.inputs.inventory)
    args.limit, args.var = ",".join(saved.hosts), list(saved.inputs.vars)
    args.tags, args.skip_tags = list(saved.inputs.tags), list(saved.inputs.skip_tags)
    return saved


def _write_outcome(args: argparse.Namespace, console: report.Console, results: list[executor.HostResult],
                   seconds: float, code: int) -> None:
    """The saved plan (--out) and the Prometheus file (--prometheus) asked for."""
    if args.out is not None:  # only the runs that ask for these files load the modules that write them
        from configurator.engine import saved_plan
        from configurator.output import atomic

        inputs = saved_plan.Inputs(str(args.inventory.resolve()), [], sorted(arguments.selection(args).only),
                                   sorted(arguments.selection(args).skip), list(args.var))
        plan, left_out = saved_plan.make(inputs, results, args.redactor.redact)
        atomic.write(args.out, saved_plan.dumps(plan), 0o600)
        console.write(f"Plan saved to {args.out} ({len(plan.hosts)} hosts)"
                      + (f"; left out, as they could not be checked: {', '.join(left_out)}" if left_out else "")
                      + f"\napply exactly it with: configure apply {args.out}\n")
    if args.prometheus is not None:
        from configurator.output import prometheus

        verb = "check" if args.check else "apply"
        prometheus.write(args.prometheus, prometheus.render(
            prometheus.from_apply(verb, results, time.time(), seconds, code)))


@contextlib.contextmanager
def ctrl_c(options: executor.RunOptions) -> Iterator[None]:
    """Ctrl-C once: hosts finish their step and start nothing new; twice: the running steps are
    stopped on the hosts. Later ones change nothing (and, the run ending, raise nothing)."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    count = 0

    def interrupted(signum: int, frame: object) -> None:
        nonlocal count
        count += 1
        if count == 1:
            options.stop.set()
            os.write(2, b"configure: interrupted: finishing the running steps (Ctrl-C again stops them)\n")
        elif count == 2:
            options.abort.set()
            os.write(2, b"configure: interrupted again: stopping the running steps on the hosts\n")

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        # once interrupted the run is ending: a late Ctrl-C must not raise, nor kill the process while
        # Python shuts down (its own handlers are reset to the default then; an ignored signal stays ignored)
        signal.signal(signal.SIGINT, signal.SIG_IGN if count else previous)


def _verifier(args: argparse.Namespace, options: executor.RunOptions, console: report.Console) -> Verifier | None:
    """The per-host verification of `apply --verify` (none for check)."""
    if not getattr(args, "verify", False) or args.check:
        return None
    from configurator.checks.verify import Verifier
    from configurator.output import verify as view

    return Verifier(options.sudo_password, lambda host, found: console.write(view.lines(host, found, args.verbose)))


def _write_reports(args: argparse.Namespace, console: report.Console, results: list[executor.HostResult]) -> None:
    """The pictures (--svg), the JSON report (--json) and the JUnit file (--junit) asked for."""
    verb = "check" if args.check else "apply"
    if args.svg:
        from configurator.output import liveview

        console.save_svg(args.svg, title=f"configure {verb}")
        liveview.save_picture(results, verb, str(args.svg.with_name(args.svg.stem + "-hosts.svg")))
    if args.json:
        report.write_json(args.json, report.as_json(results, verb, args.redactor.redact))
    if args.junit:
        from configurator.output import junit

        junit.write(args.junit, f"configure {verb}", report.junit_cases(results, args.redactor.redact))
