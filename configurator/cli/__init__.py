"""The command line: argparse and thin command functions only."""

from configurator.cli.commands import main

__all__ = ["main"]
