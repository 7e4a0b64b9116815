"""Files whose content holds a vault secret and that set no `mode`: kept unreadable to group and others."""

from __future__ import annotations

from dataclasses import replace

from configurator.resources.base import Step

NEW_MODE = "0600"
WHY = "content holds a vault secret; set `mode` to choose"


def private_mode(seen: dict[str, str]) -> str:
    """0600 for a new file; an existing one keeps its mode without the group and other bits (644 -> 0600)."""
    if seen.get("type") == "absent" or not seen.get("mode"):
        return NEW_MODE
    return f"{int(seen['mode'], 8) & ~0o077:04o}"


def noted(step: Step, seen: dict[str, str], mode: str) -> Step:
    """`step` with the reason for `mode` in its summary, when the step is what sets it."""
    unchanged = seen.get("mode") and int(seen["mode"], 8) == int(mode, 8)
    if step.status != "change" or unchanged:
        return step
    said = f"-> {mode}" in step.summary  # the mode change is already named: "mode 644 -> 0600"
    return replace(step, summary=f"{step.summary}{'' if said else f', mode {mode}'} ({WHY})")
