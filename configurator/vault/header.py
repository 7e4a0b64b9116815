"""What a vault file's first line looks like: enough to tell a vault file from a plain one without the cipher."""

from __future__ import annotations

MAGIC = b"$CONFIGURATOR_VAULT"


def is_vault(data: bytes) -> bool:
    """Whether `data` claims to be a vault file (a damaged header still counts, so it is not read as YAML)."""
    first = data.split(b"\n", 1)[0]
    return b"CONFIGURATOR_VAULT" in first or (first.startswith(b"$") and b";" in first)
