"""Files whose content holds a vault secret and that set no `mode`: kept unreadable to group and others."""

from __future__ import annotations

from dataclasses import replace

from configurator.resources.base import PlanStatus, Step

NEW_MODE = "0600"
WHY = "content holds a vault secret; set `mode` to choose"


def private_mode(kind: str, seen_mode: str) -> str:
    """0600 for a new file; an existing one keeps its mode without the group and other bits (644 -> 0600)."""
    if kind == "absent" or not seen_mode:
        return NEW_MODE
    return f"{int(seen_mode, 8) & ~0o077:04o}"


def noted(step: Step, seen_mode: str, mode: str) -> Step:
    """`step` with the reason for `mode` in its summary, when the step is what sets it."""
    unchanged = seen_mode and int(seen_mode, 8) == int(mode, 8)
    if step.status != PlanStatus.CHANGE or unchanged:
        return step
    said = f"-> {mode}" in step.summary  # the mode change is already named: "mode 644 -> 0600"
    return replace(step, summary=f"{step.summary}{'' if said else f', mode {mode}'} ({WHY})")
