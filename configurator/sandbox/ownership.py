"""One sandbox per machine: a machine-wide lock and a record of which state dir owns the network."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import process, state
from .errors import SandboxError
from .layout import BRIDGE, RUN_DIR

LOCK = RUN_DIR / "sandbox.lock"
OWNER = RUN_DIR / "sandbox.owner"


@contextmanager
def machine_lock(path: Path = LOCK) -> Iterator[None]:
    """Serialize sandbox changes on this machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def owner(path: Path = OWNER) -> Path | None:
    """Return the state dir that last brought the sandbox network up, if recorded."""
    try:
        return Path(path.read_text().strip())
    except FileNotFoundError:
        return None


def is_live(state_dir: Path) -> bool:
    """Tell whether the sandbox recorded in ``state_dir`` still has a running process."""
    recorded = state.load(state_dir)
    if recorded is None:
        return False
    refs = [h.init for h in recorded.hosts] + ([recorded.proxy] if recorded.proxy else [])
    return any(process.alive(ref) for ref in refs)


def refuse_foreign(state_dir: Path, path: Path = OWNER) -> None:
    """Raise if the sandbox network belongs to another state dir whose sandbox still runs."""
    current = owner(path)
    if current is not None and current.resolve() != state_dir.resolve() and is_live(current):
        raise SandboxError(
            f"the sandbox of {current} runs on this machine (bridge {BRIDGE}); "
            f"one sandbox per machine: run `configure sandbox down` with that state dir first"
        )


def claim(state_dir: Path, path: Path = OWNER) -> None:
    """Record ``state_dir`` as owner, refusing while another state dir's sandbox runs."""
    refuse_foreign(state_dir, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{state_dir.resolve()}\n")


def release(state_dir: Path, path: Path = OWNER) -> None:
    """Forget the owner record if it names ``state_dir``."""
    current = owner(path)
    if current is not None and current.resolve() == state_dir.resolve():
        path.unlink(missing_ok=True)
