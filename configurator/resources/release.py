"""An application release: files in ROOT/releases/VERSION, `current` switched atomically,
the service restarted and health-checked on the host, rolled back when it is not healthy."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from configurator.engine.actions import Action, Run, Upload, quote
from configurator.resources.base import Check, Resource, Step, change, field_lines, ok, unknown
from configurator.resources.service import UNIT

VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\Z")
FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*\Z")
APP_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")

# Polls the health URL until it answers 200 or the wait is over; no proxy (the host may have one set).
HEALTH = """\
import sys, time, urllib.error, urllib.request
url, wait = sys.argv[1], float(sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
end = time.monotonic() + wait
while True:
    try:
        with opener.open(url, timeout=3) as answer:
            seen = "HTTP %d" % answer.status
    except urllib.error.HTTPError as exc:
        seen = "HTTP %d" % exc.code
    except Exception as exc:
        seen = "no answer: %s" % getattr(exc, "reason", exc)
    if seen == "HTTP 200":
        sys.exit(0)
    if time.monotonic() > end:
        sys.exit("%s %s" % (url, seen))
    time.sleep(0.5)
"""

# Positional arguments: ROOT VERSION UNIT URL WAIT SWITCH(1|0) [OLD RELEASES TO PRUNE...].
# Every value arrives as an argument; nothing from the inventory is formatted into this text.
SCRIPT = "HEALTH='" + HEALTH + """'
set -u
root=$1 version=$2 unit=$3 url=$4 wait=$5 switch=$6
shift 6
link=$root/current new=releases/$version why=
log() { printf '%s %s\\n' "$(date +%s.%N)" "$*" >> "$root/deploy.log"; }
point() { ln -sfn -- "$1" "$link.cfg-new" && mv -Tf -- "$link.cfg-new" "$link"; }
healthy() {
  if [ "$(systemctl show -p NeedDaemonReload --value -- "$unit")" = yes ]; then systemctl daemon-reload; fi
  systemctl restart -- "$unit" || { why="systemctl restart $unit failed"; return 1; }
  why=$(python3 -c "$HEALTH" "$url" "$wait" 2>&1)
}
prev=$(readlink -- "$link" 2>/dev/null) || prev=
case $prev in /*) prevdir=$prev ;; *) prevdir=$root/$prev ;; esac
if [ -z "$prev" ] || [ ! -d "$prevdir" ]; then prev=; fi
if [ "$switch" = 1 ]; then
  touch -c -- "$root/$new"
  point "$new" || exit 1
  log "switch ${prev:-none} -> $new"
fi
if healthy; then
  log "healthy $new"
  for old in "$@"; do rm -rf -- "$root/releases/$old" && log "pruned releases/$old"; done
  echo "$version is healthy"
  exit 0
fi
msg="health check failed for $version ($why)"
if [ "$switch" = 1 ] && [ -n "$prev" ]; then
  # the failed release becomes the oldest, so it is the first one pruned
  point "$prev" && touch -c -- "$prevdir" && touch -c -d @0 -- "$root/$new"
  if healthy; then msg="$msg, rolled back to ${prev##*/}"
  else msg="$msg, rolled back to ${prev##*/}, which is not healthy either ($why)"; fi
elif [ "$switch" = 1 ]; then
  rm -f -- "$link"
  systemctl stop -- "$unit"
  msg="$msg; no previous release to roll back to: stopped $unit"
fi
log "failed: $msg"
echo "$msg" >&2
exit 1
"""


@dataclass(frozen=True)
class ReleaseState:
    """`current` (None when it is not a link: `current_type` says what is there), the wanted release's
    directory, the service's activity, the releases newest first, and the sha256 of each wanted file."""

    current: str | None = None
    current_type: str = ""
    release_dir: str = ""
    active: str = ""
    releases: tuple[str, ...] = ()
    sums: dict[str, str] = field(default_factory=dict)  # file name -> sha256 or "absent"


@dataclass(frozen=True)
class Release(Resource[ReleaseState]):
    """One version of an application, made current only when its service answers healthy.

    Example: `release: {app: shop, version: "1.4.2", root: /srv/shop, service: shop,
    health_url: "http://127.0.0.1:8000/healthz", files: {VERSION: "1.4.2\\n"}}`

    `files` (relative name: text) are written into ROOT/releases/VERSION; other content may be
    put there by earlier resources. With `restart: true` (for handlers) it only restarts the
    service and checks its health. Releases are ordered by when they were last made current.
    """

    app: str
    version: str
    root: str
    service: str
    health_url: str
    files: dict[str, str] = field(default_factory=dict)
    keep: int = 3
    timeout: int = 30
    restart: bool = False
    type: ClassVar[str] = "release"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.app}]"

    @property
    def target(self) -> str:
        """Where `current` points when this release is live (relative to root)."""
        return f"releases/{self.version}"

    @property
    def base(self) -> str:
        """`root` without its trailing slashes: the prefix of every path built here."""
        return self.root.rstrip("/")

    def validate(self) -> list[str]:
        problems = [f"version {self.version!r} must be letters, digits, '.', '_', '+' or '-' "
                    "(at most 64, not starting with a dot)"] if not VERSION.match(self.version) else []
        if not APP_NAME.match(self.app):
            problems.append(f"app {self.app!r} must be letters, digits, '.', '_' or '-'")
        if not self.root.startswith("/") or self.base == "" or "\n" in self.root:
            problems.append(f"root {self.root!r} must be an absolute path other than /, on one line")
        if not UNIT.match(self.service):
            problems.append(f"service {self.service!r} is not a systemd unit name")
        if not self.health_url.startswith(("http://", "https://")):
            problems.append(f"health_url {self.health_url!r} must be an http:// or https:// URL")
        problems += [f"files: {name!r} must be a relative path without '..' or '='"
                     for name in self.files if not FILE_NAME.match(name) or ".." in name.split("/")]
        if self.keep < 1 or self.timeout < 1:
            problems.append("keep and timeout must be at least 1")
        return problems

    def probe(self) -> str:
        root = quote(self.base)
        lines = [
            f"r={root}",
            'if [ -L "$r/current" ]; then echo "current=$(readlink -- "$r/current")"; '
            'elif [ -e "$r/current" ]; then echo current_type=other; else echo current_type=absent; fi',
            f"if [ -d \"$r\"/{quote(self.target)} ]; then echo release_dir=present; else echo release_dir=absent; fi",
            f'echo "active=$(systemctl is-active -- {quote(self.service)})"',
            'ls -1t -- "$r/releases" 2>/dev/null | sed "s/^/release=/"',
        ]
        for name in sorted(self.files):
            path = quote(f"{self.base}/{self.target}/{name}")
            lines.append(f'if [ -f {path} ] && [ ! -L {path} ]; then s=$(sha256sum < {path}); '
                         f'echo "sha256:{name}=${{s%% *}}"; else echo "sha256:{name}=absent"; fi')
        return "\n".join(lines) + "\n"

    def parse(self, text: str) -> ReleaseState:
        seen = field_lines(text)
        releases = tuple(line[len("release="):] for line in text.splitlines() if line.startswith("release="))
        sums = {key.removeprefix("sha256:"): value for key, value in seen.items() if key.startswith("sha256:")}
        return ReleaseState(seen.get("current"), seen.get("current_type", ""), seen.get("release_dir", ""),
                            seen.get("active", ""), releases, sums)

    def plan(self, observed: ReleaseState) -> Step:
        seen = observed
        if seen.current_type == "other":
            return unknown(f"{self.root}/current exists and is not a symlink")
        if seen.current is None and seen.current_type != "absent":
            return unknown(f"could not read the release state of {self.app}")
        if self.restart:
            return change(f"restart {self.service} and check its health", self._script(False, []))
        current = seen.current or ""
        switch = current not in (self.target, f"{self.base}/{self.target}")
        stale = [n for n in sorted(self.files) if seen.sums.get(n) != _sha256(self.files[n])]
        prune = self._prune(list(seen.releases), current, switch)
        if not switch and not stale and seen.active == "active":
            return change(f"remove old releases of {self.app}: {', '.join(prune)}", self._remove(prune),
                          kind="remove") if prune else ok(f"{self.app} {self.version} is current")
        actions = self._uploads(stale, seen.release_dir != "present")
        summary = self._summary(current, switch, stale, seen.active)
        return change(summary, *actions, self._script(switch, prune), kind="modify" if current else "create")

    def _summary(self, current: str, switch: bool, stale: list[str], active: str) -> str:
        if switch:
            was = f" (current: {current.rsplit('/', 1)[-1]})" if current else ""
            return f"deploy {self.app} {self.version}{was}"
        if stale:
            return f"update {len(stale)} files of {self.app} {self.version} and restart {self.service}"
        return f"start {self.service} ({active or 'not running'}) and check its health"

    def _uploads(self, stale: list[str], create_dir: bool) -> list[Action]:
        base = f"{self.base}/{self.target}"
        dirs = sorted(({base} if create_dir else set()) | {f"{base}/{n.rsplit('/', 1)[0]}" for n in stale if "/" in n})
        actions: list[Action] = [Run(("mkdir", "-p", "-m", "0755", "--", *dirs), at=base)] if dirs else []
        return actions + [Upload(f"{base}/{n}", self.files[n].encode("utf-8"), "0644") for n in stale]

    def _prune(self, releases: list[str], current: str, switch: bool) -> list[str]:
        """Releases beyond `keep`, newest first after this run; never the wanted or current one."""
        order = [self.version] + [r for r in releases if r != self.version] if switch else releases
        spared = {self.version, current.rsplit("/", 1)[-1]} if not switch else {self.version}
        return [r for r in order[self.keep:] if r not in spared and VERSION.match(r)]

    def _remove(self, names: list[str]) -> Run:
        base = f"{self.base}/releases"
        return Run(("rm", "-rf", "--", *(f"{base}/{n}" for n in names)), at=f"{base}/{names[0]}")

    def _script(self, switch: bool, prune: list[str]) -> Run:
        args = (self.base, self.version, self.service, self.health_url, str(self.timeout),
                "1" if switch else "0", *prune)
        return Run(("sh", "-c", SCRIPT, "sh", *args), timeout=2 * self.timeout + 120, at=f"{self.base}/current")

    def checks(self) -> list[Check]:
        if self.restart:
            return []

        def verify(host: Any) -> None:
            link = host.check_output("readlink -- %s", f"{self.base}/current")
            assert link.endswith(self.target), f"{self.root}/current points at {link}, not {self.target}"
            assert host.service(self.service).is_running, f"service {self.service} is not running"
        return [Check(f"{self.app} {self.version} is current and running", verify)]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
