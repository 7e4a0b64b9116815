"""An archive on the host (tar.gz, tar.xz, tar.bz2, tar or zip) unpacked into a directory of its own,
once per archive content, with hostile members refused before anything is written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from configurator.engine.actions import Run, quote
from configurator.resources.base import Check, Resource, Step, change, field_lines, ok, unknown
from configurator.resources.members import LIST
from configurator.resources.schema import SAFE_NAME
from configurator.resources.touch import Touches, owners, touches, with_parents

MARKER = ".configurator-archive"  # in dest: the sha256 of the archive it was unpacked from

# Positional: ARCHIVE DEST KIND STRIP OWNER GROUP. Lists and checks the members, unpacks as the owner
# into a fresh directory beside DEST, writes the marker, then puts it in DEST's place.
SCRIPT = """\
set -u
archive=$1 dest=$2 kind=$3 strip=$4 owner=$5 group=$6
[ -n "$group" ] || group=$(id -g -- "$owner") || exit 1
if [ "$(id -u)" = "$(id -u -- "$owner")" ]; then run() { "$@"; }
else run() { setpriv --reuid="$owner" --regid="$group" --init-groups "$@"; }; fi
[ -f "$archive" ] || { echo "archive: $archive does not exist" >&2; exit 1; }
sum=$(sha256sum < "$archive") && sum=${sum%% *} || exit 1
work=$(mktemp -d) || exit 1
new=$(mktemp -d -p "$(dirname -- "$dest")" .cfg-unpack-XXXXXXXXXX) || exit 1
trap 'rm -rf -- "$work" "$new" "$new.old"' EXIT
""" + LIST + """\
chown -- "$owner:$group" "$new" && chmod 0755 "$new" || exit 1
if [ "$kind" = zip ]; then  # unzip needs a file it can seek in, which the owner may not be able to open
  cp -- "$archive" "$work/a.zip" && chmod 0644 "$work/a.zip" && chmod 0755 "$work" \\
    && run unzip -q -o "$work/a.zip" -d "$new" </dev/null || exit 1
else  # tar reads it from root's descriptor; from a pipe it cannot guess the compression itself
  case $(od -An -tx1 -N6 < "$archive" | tr -d ' \\n') in
    1f8b*) z=-z ;; fd377a585a00) z=-J ;; 425a68*) z=-j ;; 28b52ffd*) z=--zstd ;; *) z= ;;
  esac
  run tar -x $z --no-same-owner --no-same-permissions --strip-components="$strip" -C "$new" -f - < "$archive" \\
    || exit 1
fi
echo "$sum" | run sh -c 'cat > "$1"' sh "$new/""" + MARKER + """" || exit 1
if [ -e "$dest" ]; then mv -T -- "$dest" "$new.old" || exit 1; fi
mv -T -- "$new" "$dest" || { [ ! -e "$new.old" ] || mv -T -- "$new.old" "$dest"; exit 1; }
echo "unpacked $archive into $dest"
"""


@dataclass(frozen=True)
class Unpacked:
    """The archive's sha256 (`absent`), what is at dest (`absent`, `directory`, `other`), its owner,
    the marker's sha256, and whether dest is an empty directory."""

    archive: str = ""
    dest: str = ""
    owner: str = ""
    marker: str = ""
    empty: bool = False


@dataclass(frozen=True)
class Archive(Resource[Unpacked]):
    """An archive on the host unpacked into `dest`, a directory that holds exactly its content.

    Example: `archive: {path: /var/cache/app-1.2.tar.gz, dest: /opt/app-1.2, owner: app, strip_components: 1}`

    Unpacked again only when the archive's sha256 differs from the one in `dest/.configurator-archive`.
    Before anything is written its member list is checked on the host (see members.py): an absolute
    name, a `..`, a link leading outside `dest`, or a device refuses the whole archive. It is unpacked
    as `owner` into a fresh directory beside `dest`, which then takes `dest`'s place (the old content
    goes). A `dest` that already holds files but no marker is left alone (the step fails). `format`
    `auto` reads the name: `.zip` is a zip (unzip must be installed), anything else goes to tar.
    """

    path: str
    dest: str
    owner: str = "root"
    group: str | None = None
    strip_components: int = 0
    format: Literal["auto", "tar", "zip"] = "auto"
    type: ClassVar[str] = "archive"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.dest}]"

    @property
    def kind(self) -> str:
        if self.format != "auto":
            return self.format
        return "zip" if self.path.lower().endswith(".zip") else "tar"

    def validate(self) -> list[str]:
        problems = []
        if not self.dest.startswith("/") or len([p for p in self.dest.split("/") if p]) < 2 or "\n" in self.dest:
            problems.append(f"dest {self.dest!r} must be an absolute path at least two levels deep")
        if re.search(r"(^|/)\.\.?(/|$)", self.dest):
            problems.append(f"dest {self.dest!r} must not hold . or .. components")
        if not SAFE_NAME.match(self.owner):
            problems.append(f"owner {self.owner!r} is not a valid user name")
        if self.strip_components < 0 or (self.strip_components and self.kind == "zip"):
            problems.append("strip_components must be 0 or more, and 0 for a zip")
        return problems

    def touches(self) -> Touches:
        """Reads the archive and the tree it unpacks to; replaces that tree (made beside it)."""
        mine = {("path", self.path), ("tree", self.dest), *owners(self.owner, self.group)}
        return touches(mine, {("tree", self.dest), *with_parents(self.dest)})

    def probe(self) -> str:
        a, d = quote(self.path), quote(self.dest.rstrip("/"))
        return (f"a={a} d={d}\n"
                'if [ -f "$a" ]; then s=$(sha256sum < "$a") && echo "archive=${s%% *}"; else echo archive=absent; fi\n'
                'if [ -L "$d" ] || { [ -e "$d" ] && [ ! -d "$d" ]; }; then echo dest=other\n'
                'elif [ -d "$d" ]; then echo dest=directory; echo "owner=$(stat -c %U:%G -- "$d")"\n'
                f'  m="$d"/{MARKER}; if [ -f "$m" ] && [ ! -L "$m" ]; then echo "marker=$(head -c 64 -- "$m")"; fi\n'
                '  [ -n "$(ls -A -- "$d")" ] || echo empty=1\n'
                "else echo dest=absent; fi\n")

    def parse(self, text: str) -> Unpacked:
        seen = field_lines(text)
        return Unpacked(seen["archive"], seen["dest"], seen.get("owner", ""), seen.get("marker", ""),
                        "empty" in seen)

    def plan(self, observed: Unpacked) -> Step:
        seen = observed
        if seen.dest == "other":
            return unknown(f"{self.dest} exists and is not a directory")
        user, _, group = seen.owner.partition(":")
        owned = user == self.owner and self.group in (None, group)
        if seen.dest == "directory" and seen.marker == seen.archive != "absent" and owned:
            return ok(f"unpacked from sha256 {seen.marker[:12]}")
        if seen.dest == "directory" and not seen.marker and not seen.empty:
            return unknown(f"{self.dest} holds files that were not unpacked here (no {MARKER}); "
                           "remove it or choose another dest")
        script = Run(("sh", "-c", SCRIPT, "sh", self.path, self.dest.rstrip("/"), self.kind,
                      str(self.strip_components), self.owner, self.group or ""), timeout=1800, at=self.dest)
        what = "not there yet" if seen.archive == "absent" else f"sha256 {seen.archive[:12]}"
        return change(f"unpack {self.path} ({what}) into {self.dest}", script,
                      kind="create" if seen.dest == "absent" else "modify")

    def checks(self) -> list[Check]:
        def verify(host: Any) -> None:
            marker = host.file(f"{self.dest}/{MARKER}")
            assert marker.is_file, f"{self.dest} was not unpacked by configurator (no {MARKER})"
            assert marker.content_string.strip() == host.file(self.path).sha256sum, \
                f"{self.dest} was unpacked from another archive than {self.path}"
            assert host.file(self.dest).user == self.owner, f"{self.dest} is not owned by {self.owner}"
        return [Check(f"{self.path} unpacked into {self.dest}", verify)]
