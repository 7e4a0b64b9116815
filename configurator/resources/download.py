"""A file downloaded from a URL and kept only when its sha256 is the one given: fetched by the target,
or by the control machine and pushed over the run's connection."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from configurator.engine.actions import Action, Run, Upload, quote
from configurator.resources.base import Check, Resource, Step, change, field_lines, unknown
from configurator.resources.file import STAT, FileState, file_state, metadata_step
from configurator.resources.touch import Touches, owners, touches

SHA256 = re.compile(r"^[0-9a-f]{64}\Z")

# Positional: URL PATH SHA256 MODE OWNER GROUP TIMEOUT. A temp file beside PATH, filled by curl or
# wget, kept only when its checksum is SHA256, then given its owner and mode and renamed over PATH.
FETCH = """\
set -u
url=$1 path=$2 sum=$3 mode=$4 owner=$5 group=$6 limit=$7
t=$(mktemp -p "$(dirname -- "$path")" .cfg-download-XXXXXXXXXX) || exit 1
trap 'rm -f -- "$t"' EXIT
if command -v curl >/dev/null 2>&1; then curl -fsSL --max-time "$limit" -o "$t" --url "$url"
elif command -v wget >/dev/null 2>&1; then wget -q -T "$limit" -O "$t" -- "$url"
else echo "download: neither curl nor wget on this host (via: controller pushes the file)" >&2; exit 1
fi || { echo "download: could not fetch $url" >&2; exit 1; }
got=$(sha256sum < "$t"); got=${got%% *}
if [ "$got" != "$sum" ]; then echo "download: $url has sha256 $got, not $sum; $path left as it was" >&2; exit 1; fi
if [ -n "$owner$group" ]; then chown -- "$owner:$group" "$t" || exit 1; fi
chmod -- "$mode" "$t" && mv -fT -- "$t" "$path" && trap - EXIT
"""

# The validator of a pushed file: its checksum must be the one given (run on the host on the temp file).
SUM_CHECK = ('s=$(sha256sum < "$1"); [ "${s%% *}" = "$2" ] || '
             '{ echo "download: the pushed file has sha256 ${s%% *}, not $2" >&2; exit 1; }')


def cache_dir() -> Path:
    """Where the control machine keeps downloads, by sha256 (XDG_CACHE_HOME, else ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "configurator" / "downloads"


def fetch(url: str, sha256: str, timeout: int) -> Path:
    """The cached file of `sha256`, fetched from `url` first when it is not there yet (checked, then renamed)."""
    target = cache_dir() / sha256
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256()
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".fetch-")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310
            for chunk in iter(lambda: answer.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ValueError(f"{url} has sha256 {digest.hexdigest()}, not {sha256}")
        os.replace(temp, target)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return target


@dataclass(frozen=True)
class Download(Resource[FileState]):
    """A file fetched from `url`, kept only when its content has the given `sha256`.

    Example: `download: {url: "https://example.org/app-1.2.tar.gz", path: /var/cache/app-1.2.tar.gz,
    sha256: "…64 hex digits…"}`

    With `via: target` (the default) the host fetches it itself with curl or wget; with
    `via: controller` the control machine fetches it once into its cache (~/.cache/configurator/
    downloads, by sha256) when the catalog is built, and the run uploads it, for hosts that cannot
    reach the URL. Either way the file is written to a temp file beside `path`, checked against
    `sha256` on the host and renamed: a wrong or cut-off download never replaces anything. A file
    that already has the checksum is never fetched again.
    """

    url: str
    path: str
    sha256: str
    via: Literal["target", "controller"] = "target"
    owner: str | None = None
    group: str | None = None
    mode: str = "0644"
    timeout: int = 600
    type: ClassVar[str] = "download"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.path}]"

    def validate(self) -> list[str]:
        if not SHA256.match(self.sha256):
            return [f"sha256 {self.sha256!r} must be 64 lower-case hex digits"]
        scheme = r"^(https?|ftp|file)://" if self.via == "controller" else r"^(https?|ftp)://"
        if not re.match(scheme, self.url) or any(c in self.url for c in "\n\0 "):
            return [f"url {self.url!r} must be an http(s):// or ftp:// URL (file:// with via: controller)"]
        if self.timeout <= 0:
            return [f"timeout must be positive, got {self.timeout}"]
        if self.via == "controller":
            try:
                fetch(self.url, self.sha256, self.timeout)
            except (OSError, ValueError) as exc:
                return [f"could not fetch it on this machine: {exc}"]
        return []

    def touches(self) -> Touches:
        """Reads and writes the downloaded file (and the accounts it names)."""
        return touches({("path", self.path), *owners(self.owner, self.group)}, {("path", self.path)})

    def probe(self) -> str:
        return (f"p={quote(self.path)}\n"
                'if [ -L "$p" ]; then echo type=link; elif [ -f "$p" ]; then ' + STAT + "\n"
                '  s=$(sha256sum < "$p") && echo "sha256=${s%% *}"\n'
                'elif [ -e "$p" ]; then ' + STAT + "\nelse echo type=absent; fi\n")

    def parse(self, text: str) -> FileState:
        return file_state(field_lines(text))

    def plan(self, observed: FileState) -> Step:
        seen = observed
        if seen.kind not in ("absent", "regular file", "regular empty file"):
            return unknown(f"{self.path} exists but is a {seen.kind or 'thing the probe did not describe'}")
        if seen.sha256 == self.sha256:
            return metadata_step(self.path, seen, self.mode, self.owner, self.group, f"sha256 {self.sha256[:12]}")
        verb = "download" if seen.kind == "absent" else f"replace {self.path} (sha256 {seen.sha256[:12]}) with"
        return change(f"{verb} {self.url} ({self.via})", self.action(seen),
                      kind="create" if seen.kind == "absent" else "modify")

    def action(self, seen: FileState) -> Action:
        """The fetch on the host, or the upload of the control machine's copy."""
        owner, group = self.owner or seen.owner or "", self.group or seen.group or ""
        if self.via == "controller":
            return Upload(self.path, b"", self.mode, owner, group, ("sh", "-c", SUM_CHECK, "sh", "%s", self.sha256),
                          source=str(cache_dir() / self.sha256))
        return Run(("sh", "-c", FETCH, "sh", self.url, self.path, self.sha256, self.mode, owner, group,
                    str(self.timeout)), timeout=self.timeout + 60, at=self.path)

    def checks(self) -> list[Check]:
        def verify(host: Any) -> None:
            f = host.file(self.path)
            assert f.is_file and f.sha256sum == self.sha256, f"{self.path} does not have sha256 {self.sha256}"
            if self.owner is not None:
                assert f.user == self.owner, f"{self.path} owner is {f.user}, expected {self.owner}"
        return [Check(f"{self.path} has sha256 {self.sha256[:12]}", verify)]
