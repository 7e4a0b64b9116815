"""Errors the tool reports to its user, each with where it happened and its exit code."""

from __future__ import annotations

from dataclasses import dataclass

from configurator.engine import exitcodes


@dataclass(frozen=True)
class Location:
    """A place in an input file: `inventory.yml:12`."""

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


class ConfigureError(Exception):
    """Base of the errors shown to users without a traceback."""

    exit_code = exitcodes.FAILED


class InputError(ConfigureError):
    """Bad inventory, role, template or variable: reported before any connection."""

    exit_code = exitcodes.INPUT

    def __init__(self, message: str, where: Location | None = None, hint: str = "") -> None:
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class HostFailed(ConfigureError):
    """A host could not be converged: a command failed or a validator refused."""

    exit_code = exitcodes.FAILED


class Unreachable(ConfigureError):
    """A host could not be connected to (refused, timed out, host key refused)."""

    exit_code = exitcodes.UNREACHABLE
