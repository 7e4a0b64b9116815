"""One check's outcome, and running a check so that any failure becomes a result, never a crash."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from configurator.engine.status import CheckStatus

Status = CheckStatus
Kind = Literal["resource", "role", "host"]


@dataclass(frozen=True)
class CheckResult:
    """One check on one host: what was checked, for which resource or role test, and the outcome."""

    host: str
    name: str
    kind: Kind
    subject: str  # the resource id (`file[/etc/x]`), the role test id, or `host` for connection problems
    role: str = ""
    status: CheckStatus = CheckStatus.PASSED
    message: str = ""
    seconds: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", CheckStatus(self.status))  # a plain string becomes the enum

    @property
    def failed(self) -> bool:
        """Whether this check counts as a verification failure."""
        return self.status.failed

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


def host_status(results: Sequence[CheckResult]) -> CheckStatus:
    """passed | failed | unreachable for one host's checks."""
    if any(r.status == CheckStatus.UNREACHABLE for r in results):
        return CheckStatus.UNREACHABLE
    return CheckStatus.FAILED if any(r.failed for r in results) else CheckStatus.PASSED


def counts(results: Sequence[CheckResult], statuses: Sequence[CheckStatus] = tuple(CheckStatus)) -> dict[str, int]:
    """How many checks ended in each of `statuses`."""
    return {str(s): sum(r.status == s for r in results) for s in statuses}


def run_check(test: Callable[[], None], **what: Any) -> CheckResult:
    """Call `test`; an AssertionError is a failure with its message, anything else an error."""
    import pytest  # imported on first use: `configure apply` should not pay for it at start-up

    started = time.monotonic()
    status = CheckStatus.PASSED
    message = ""
    try:
        test()
    except AssertionError as exc:
        status, message = CheckStatus.FAILED, str(exc) or "assertion failed (no message)"
    except pytest.skip.Exception as exc:
        status, message = CheckStatus.SKIPPED, str(exc.msg)
    except pytest.fail.Exception as exc:
        status, message = CheckStatus.FAILED, str(exc.msg)
    except Exception as exc:  # noqa: BLE001 - a broken check must not hide the others
        status, message = CheckStatus.ERROR, _error(exc)
    return CheckResult(status=status, message=message, seconds=time.monotonic() - started, **what)


def _error(exc: Exception) -> str:
    """The exception and where it was raised (the last frame is the useful one in test code)."""
    frames = traceback.extract_tb(exc.__traceback__)
    at = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{at}"
