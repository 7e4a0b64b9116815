"""Ending what a script started on a host, found by the mark in its processes' environment.

A process group or session would not do: a command's `setsid` child leaves both, but it keeps
the environment it was started with (unless it clears it on purpose, as `env -i` does).
"""

from __future__ import annotations

STEP_MARK = "CFG_STEP"  # in the environment of every process a script starts
TIMED_OUT = (124, 137)  # timeout(1)'s statuses: the command was ended, its detached children perhaps not
STOP_WAIT = 10.0  # seconds to end a script's processes, or to see its shell return


def mark(token: str) -> str:
    """sh (for the script's subshell) that marks every process it starts as script `token`'s."""
    return f"{STEP_MARK}={token}; export {STEP_MARK}"


def end_script(token: str) -> str:
    """sh that ends every process marked as script `token`'s: TERM, then KILL what is left."""
    find = f"grep -lsxzF {STEP_MARK}={token} /proc/[0-9]*/environ"
    return (f'for __s in TERM KILL KILL; do __p=$({find}); [ -n "$__p" ] || break; '
            'for __f in $__p; do __f=${__f#/proc/}; kill -$__s ${__f%/environ} 2>/dev/null; done; sleep 0.5; done')


def on_timeout(token: str) -> str:
    """sh, run after the script, that ends its leftovers when a command of it timed out."""
    return f"case $__rc in {'|'.join(map(str, TIMED_OUT))}) {end_script(token)};; esac"
