"""A git checkout: a repository at a branch, tag or commit, owned by a user who alone runs git in it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from configurator.engine.actions import Run, quote
from configurator.resources.base import Check, Resource, Step, change, field_lines, ok, unknown
from configurator.resources.schema import SAFE_NAME
from configurator.resources.touch import Touches, owners, touches, with_parents

COMMIT = re.compile(r"^[0-9a-f]{40}\Z")
REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./+-]*\Z")
REMOTE_TIMEOUT = 30  # seconds for `git ls-remote` during the probe

# sh run as the checkout's owner (root never runs git in a tree another user controls: hooks and
# config there run code). `$g` is git as the owner of `$p`, with HOME=/ so that no one's own config counts.
AS_OWNER = """\
u=$(stat -c %u -- "$p")
if [ "$u" = "$(id -u)" ]; then g="env HOME=/ git"
else g="setpriv --reuid=$u --regid=$(id -g -- "$u" 2>/dev/null || echo "$u") --init-groups env HOME=/ git"; fi
echo "owner=$(stat -c %U:%G -- "$p")"
"""

# Positional: DEST URL KIND VERSION OWNER GROUP FORCE. Creates the repository when needed, fetches
# as the owner and checks out: a branch as a local branch at the remote's head, else a detached HEAD.
SCRIPT = """\
set -eu
dest=$1 url=$2 kind=$3 version=$4 owner=$5 group=$6 force=$7
[ -n "$group" ] || group=$(id -g -- "$owner")
home=$(getent passwd "$owner" | cut -d: -f6)
if [ "$(id -u)" = "$(id -u -- "$owner")" ]; then run() { env HOME="${home:-/}" "$@"; }
else run() { setpriv --reuid="$owner" --regid="$group" --init-groups env HOME="${home:-/}" "$@"; }; fi
if [ ! -e "$dest" ]; then mkdir -p -- "$dest"; fi
if [ ! -d "$dest/.git" ]; then
  chown -- "$owner:$group" "$dest"
  run git init -q -- "$dest"
  run git -C "$dest" remote add origin "$url"
else
  run git -C "$dest" remote set-url origin "$url"
fi
run git -C "$dest" fetch -q --tags --force origin '+refs/heads/*:refs/remotes/origin/*'
f=; [ "$force" = 1 ] && f=--force
case $kind in
  branch) run git -C "$dest" checkout -q $f -B "$version" "refs/remotes/origin/$version" ;;
  tag) run git -C "$dest" checkout -q $f --detach "refs/tags/$version^{commit}" ;;
  *) run git -C "$dest" checkout -q $f --detach "$version^{commit}" ;;
esac
run git -C "$dest" rev-parse HEAD
"""


@dataclass(frozen=True)
class Checkout:
    """What the probe saw: `absent` (or an empty directory), `repo` or `other` at dest, its owner, HEAD, origin's URL,
    local changes, the wanted tag's or commit's local commit, and the remote's branch or tag head."""

    kind: str = ""
    owner: str = ""
    head: str = ""
    origin: str = ""
    dirty: bool = False
    local: str = ""
    remote_branch: str = ""
    remote_tag: str = ""
    error: str = ""


@dataclass(frozen=True)
class Git(Resource[Checkout]):
    """A git checkout of `repo` at `version` (a branch, a tag or a full commit id) in `dest`.

    Example: `git: {repo: "git://git.lab/app.git", dest: /srv/app, version: v1.4.2, owner: app}`

    The checkout belongs to `owner` (and `group`, by default the owner's primary group), and git
    runs as that user only, in the probe too: root never runs git in a tree someone else can
    write. A commit id, or a tag the checkout already has, is compared with HEAD without any
    network access; a branch is compared with the remote's head (`git ls-remote`, in the probe).
    Local changes make the step fail unless `force: true` discards them.
    """

    repo: str
    dest: str
    version: str = "main"
    owner: str = "root"
    group: str | None = None
    force: bool = False
    type: ClassVar[str] = "git"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.dest}]"

    def validate(self) -> list[str]:
        problems = []
        if not self.dest.startswith("/") or self.dest.rstrip("/") == "" or "\n" in self.dest:
            problems.append(f"dest {self.dest!r} must be an absolute path other than /")
        if not REF.match(self.version) or ".." in self.version or self.version.endswith((".lock", "/")):
            problems.append(f"version {self.version!r} must be a branch, a tag or a full commit id")
        if not self.repo or self.repo.startswith("-") or any(c in self.repo for c in "\n\0"):
            problems.append(f"repo {self.repo!r} must be a repository URL")
        if not SAFE_NAME.match(self.owner):
            problems.append(f"owner {self.owner!r} is not a valid user name")
        return problems

    @property
    def commit(self) -> bool:
        return bool(COMMIT.match(self.version))

    def touches(self) -> Touches:
        """Reads the checkout's tree (and the accounts it names); writes it and the folders above it."""
        mine = {("tree", self.dest), *owners(self.owner, self.group)}
        return touches(mine, {("tree", self.dest), *with_parents(self.dest)})

    def probe(self) -> str:
        p, v = quote(self.dest), quote(self.version)
        lines = [f"p={p} l=", 'if [ -d "$p/.git" ]; then echo kind=repo', AS_OWNER.rstrip(),
                 ' echo "head=$($g -C "$p" rev-parse -q --verify HEAD 2>&1)"',
                 ' echo "origin=$($g -C "$p" config --get remote.origin.url)"',
                 ' [ -z "$($g -C "$p" status --porcelain --untracked-files=no 2>&1)" ] || echo dirty=1']
        if self.commit:
            lines.append(f' if $g -C "$p" cat-file -e {v}^{{commit}} 2>/dev/null; then echo local={v}; fi')
        else:
            lines.append(f' l=$($g -C "$p" rev-parse -q --verify refs/tags/{v}^{{commit}}); echo "local=$l"')
        lines += ['elif [ -d "$p" ] && [ ! -L "$p" ] && [ -z "$(ls -A -- "$p")" ]; then echo kind=absent',
                  "elif [ -e \"$p\" ] || [ -L \"$p\" ]; then echo kind=other; else echo kind=absent; fi"]
        if not self.commit:
            lines.append(self._remote_probe())
        return "\n".join(lines) + "\n"

    def _remote_probe(self) -> str:
        """sh that asks the remote for the branch's and the tag's commit (skipped for a tag held locally)."""
        v, url = quote(self.version), quote(self.repo)
        refs = f"refs/heads/{v} refs/tags/{v} refs/tags/{v}^{{}}"
        return (f"if [ -n \"$l\" ]; then :\n"
                f"elif r=$(cd / && timeout {REMOTE_TIMEOUT} git ls-remote -- {url} {refs} 2>&1); then\n"
                "  echo \"$r\" | while read -r s n; do case $n in refs/heads/*) echo \"remote_branch=$s\";;\n"
                "    *'^{}') echo \"remote_tag=$s\";; refs/tags/*) echo \"remote_tag_ref=$s\";; esac; done\n"
                "else echo \"error=git ls-remote: $(echo \"$r\" | tail -n 1)\"; fi")

    def parse(self, text: str) -> Checkout:
        seen = field_lines(text)
        tag = seen.get("remote_tag") or seen.get("remote_tag_ref", "")
        return Checkout(seen["kind"], seen.get("owner", ""), seen.get("head", ""), seen.get("origin", ""),
                        "dirty" in seen, seen.get("local", ""), seen.get("remote_branch", ""), tag,
                        seen.get("error", ""))

    def wanted(self, seen: Checkout) -> tuple[str, str]:
        """The kind of `version` (commit, tag or branch) and the commit it names ("" when unknown)."""
        if self.commit:
            return "commit", self.version
        if seen.remote_branch:
            return "branch", seen.remote_branch
        if seen.local or seen.remote_tag:
            return "tag", seen.local or seen.remote_tag
        return "", ""

    def plan(self, observed: Checkout) -> Step:
        seen = observed
        if seen.kind == "other":
            return unknown(f"{self.dest} exists and is not a git checkout")
        kind, commit = self.wanted(seen)
        if not kind:
            return unknown(seen.error or f"{self.repo} has no branch or tag {self.version!r}")
        user, _, group = seen.owner.partition(":")
        owned = user == self.owner and self.group in (None, group)
        if seen.kind == "repo" and seen.head == commit and seen.origin == self.repo and not seen.dirty and owned:
            return ok(f"{self.version} at {commit[:12]}")
        if seen.dirty and not self.force:
            return unknown(f"{self.dest} has local changes (force: true discards them)")
        chown = Run(("chown", "-R", "--", f"{self.owner}:{self.group or ''}", self.dest), at=self.dest)
        actions = [chown] if seen.kind == "repo" and not owned else []
        script = Run(("sh", "-c", SCRIPT, "sh", self.dest, self.repo, kind, self.version, self.owner,
                      self.group or "", "1" if self.force else "0"), timeout=1800, at=self.dest)
        was = f"{seen.head[:12]}" if seen.kind == "repo" else "nothing"
        return change(f"check out {self.version} ({kind} {commit[:12]}) in {self.dest}, was {was}",
                      *actions, script, kind="create" if seen.kind == "absent" else "modify")

    def checks(self) -> list[Check]:
        def verify(host: Any) -> None:
            assert host.file(f"{self.dest}/.git").is_directory, f"{self.dest} is not a git checkout"
            assert host.file(self.dest).user == self.owner, f"{self.dest} is not owned by {self.owner}"
            if self.commit:  # detached: HEAD holds the id (read as a file: root runs no git in the tree)
                head = host.file(f"{self.dest}/.git/HEAD").content_string.strip()
                assert head == self.version, f"{self.dest} is at {head}, not {self.version}"
        return [Check(f"{self.dest} is a checkout of {self.version}", verify)]
