"""apt's package lists on a host: how old they are, whether a source changed since, and refreshing them.

`apt_source` marks the lists out of date (STALE) whenever it changes a source or a key; the
package probe then reads them as older than any limit, so the next package step that installs
refreshes them first, in the same run (the engine re-probes the steps after a change) or in a
later one if this run stops before. A successful refresh removes the mark.
"""

from __future__ import annotations

from configurator.engine.actions import Run

LIST_MAX_AGE = 24 * 3600  # refresh apt lists older than this before installing
APT_ENV = (("DEBIAN_FRONTEND", "noninteractive"),)
STATE = "/var/lib/configurator"
STAMP = f"{STATE}/apt-lists.stamp"  # apt-get update leaves the lists' mtime alone when nothing changed
STALE = f"{STATE}/apt-lists.stale"  # a source or key changed after the lists were last refreshed
# sh setting $a: seconds since the newest of the stamp and the lists directory changed (since the
# epoch when there are no package lists, or a source changed since); two processes (stat, date),
# the rest is builtins
LISTS_AGE = (f"l=; for t in $(stat -c %Y {STAMP} /var/lib/apt/lists 2>/dev/null); do "
             'if [ -z "$l" ] || [ "$t" -gt "$l" ]; then l=$t; fi; done; l=${l:-0}; '
             'for t in /var/lib/apt/lists/*_Packages; do [ -e "$t" ] || [ -L "$t" ] || l=0; break; done; '
             f"if [ -e {STALE} ]; then l=0; fi; "
             "a=$(( $(date +%s) - l ))")
# A mirror or proxy hiccup can fail `apt-get update`, and apt 2.6 was seen to hang for good after a
# proxy answered 503 for an index: each try is bounded and retried (as Ansible's apt module retries).
UPDATE_TRIES, UPDATE_TRY_SECONDS = 3, 240
UPDATE_SCRIPT = (f"n=1; until timeout {UPDATE_TRY_SECONDS} apt-get -q -o DPkg::Lock::Timeout=120 update; do "
                 f'[ "$n" -ge {UPDATE_TRIES} ] && exit 1; n=$((n + 1)); sleep "$n"; done; '
                 f"mkdir -p {STATE} && touch {STAMP} && rm -f {STALE}")
UPDATE = Run(("sh", "-c", UPDATE_SCRIPT), env=APT_ENV, timeout=900)
# run before a source or key is written, so that a run stopped half way still refreshes next time
MARK_STALE = Run(("sh", "-c", f"mkdir -p {STATE} && touch {STALE}"))
