"""The command line: argparse and thin command functions only."""

from configurator import startup

with startup.collector_paused():
    from configurator.cli.commands import main

__all__ = ["main"]
