"""Fixed places and names the sandbox uses on the machine."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR = Path("/var/cache/configurator")
BASE_DIR = CACHE_DIR / "base-bookworm"  # the default release's base; releases.base_dir names each
PROXY_DIR = CACHE_DIR / "apt-cacher-ng"
DEFAULT_STATE_DIR = Path("/var/lib/configurator/sandbox")
RUN_DIR = Path("/run/configurator")
STATE_DIR_ENV = "CONFIGURE_SANDBOX_DIR"

BRIDGE = "cfgbr0"
NETWORK = "198.18.0.0/24"
GATEWAY = "198.18.0.1"
PREFIX_LEN = 24
PROXY_PORT = 3142
PROXY_URL = f"http://{GATEWAY}:{PROXY_PORT}"
MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"


def state_dir(explicit: Path | None = None) -> Path:
    """Return the state directory: the argument, else $CONFIGURE_SANDBOX_DIR, else the default."""
    if explicit is not None:
        return Path(explicit)
    from_env = os.environ.get(STATE_DIR_ENV)
    return Path(from_env) if from_env else DEFAULT_STATE_DIR
