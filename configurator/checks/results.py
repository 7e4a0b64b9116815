"""One check's outcome, and running a check so that any failure becomes a result, never a crash."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["passed", "failed", "error", "skipped", "unreachable"]
Kind = Literal["resource", "role", "host"]


@dataclass(frozen=True)
class CheckResult:
    """One check on one host: what was checked, for which resource or role test, and the outcome."""

    host: str
    name: str
    kind: Kind
    subject: str  # the resource id (`file[/etc/x]`), the role test id, or `host` for connection problems
    role: str = ""
    status: Status = "passed"
    message: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        """Whether this check counts as a verification failure."""
        return self.status in ("failed", "error")

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


def run_check(test: Callable[[], None], **what: Any) -> CheckResult:
    """Call `test`; an AssertionError is a failure with its message, anything else an error."""
    import pytest  # imported on first use: `configure apply` should not pay for it at start-up

    started = time.monotonic()
    status: Status = "passed"
    message = ""
    try:
        test()
    except AssertionError as exc:
        status, message = "failed", str(exc) or "assertion failed (no message)"
    except pytest.skip.Exception as exc:
        status, message = "skipped", str(exc.msg)
    except pytest.fail.Exception as exc:
        status, message = "failed", str(exc.msg)
    except Exception as exc:  # noqa: BLE001 - a broken check must not hide the others
        status, message = "error", _error(exc)
    return CheckResult(status=status, message=message, seconds=time.monotonic() - started, **what)


def _error(exc: Exception) -> str:
    """The exception and where it was raised (the last frame is the useful one in test code)."""
    frames = traceback.extract_tb(exc.__traceback__)
    at = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{at}"
