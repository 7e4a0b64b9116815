"""Local users through the shadow tools (useradd, usermod, ...)."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

from configurator.engine.actions import Action, Run, Upload, quote
from configurator.resources import accounts
from configurator.resources.accounts import Lookup
from configurator.resources.base import (
    Check,
    Resource,
    Step,
    Unreadable,
    change,
    field_lines,
    ok,
    one_by_one,
    split_one_by_one,
    unknown,
)
from configurator.resources.touch import Touches, touches

# Runs with $k set to the .ssh directory: its metadata and the authorized_keys file's.
_KEYS_PROBE = """\
  if [ -L "$k" ] || [ -L "$k/authorized_keys" ]; then echo keys=link
  else stat --printf 'ssh_dir=%F %a %U:%G\\n' -- "$k" 2>/dev/null
    if [ -f "$k/authorized_keys" ]; then stat --printf 'keys=%a %U:%G\\n' -- "$k/authorized_keys"
      s=$(sha256sum < "$k/authorized_keys") && echo "keys_sha256=${s%% *}"; fi
  fi
"""


@dataclass(frozen=True)
class UserState:
    """The passwd entry, the groups `id -Gn` named (primary first) and, when keys are managed, ~/.ssh."""

    passwd: Lookup = Lookup()
    primary: str = ""
    groups: tuple[str, ...] = ()
    ssh_dir: str | None = None  # "directory 700 bob:bob"
    keys: str | None = None  # authorized_keys' "600 bob:bob", or "link" when either is a symlink
    keys_sha256: str | None = None


def user_state(text: str) -> UserState:
    """The state `probe()` printed."""
    seen = field_lines(text)
    return UserState(accounts.lookup(seen, "passwd"), seen.get("primary", ""), tuple(seen.get("groups", "").split()),
                     seen.get("ssh_dir"), seen.get("keys"), seen.get("keys_sha256"))


@dataclass(frozen=True)
class User(Resource[UserState]):
    """A local user account with its groups, shell, home and SSH authorized_keys.

    Example: `user: {name: deploy, groups: [sudo], authorized_keys: ["ssh-ed25519 AAAA... ops"]}`

    `groups` is the exact list of supplementary groups; `authorized_keys` the exact content
    of `~/.ssh/authorized_keys` (0600, `.ssh` 0700, both owned by the user). Unset fields
    are left as they are. `system` and `create_home` only matter when the user is created;
    a changed `home` is not moved; `state: absent` keeps the home directory.
    """

    name: str
    state: Literal["present", "absent"] = "present"
    uid: int | None = None
    group: str | None = None
    groups: tuple[str, ...] | None = None
    shell: str | None = None
    home: str | None = None
    system: bool = False
    comment: str | None = None
    create_home: bool = True
    authorized_keys: tuple[str, ...] | None = None
    type: ClassVar[str] = "user"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.name}]"

    @property
    def keys_content(self) -> bytes:
        return "".join(f"{key}\n" for key in self.authorized_keys or ()).encode()

    def validate(self) -> list[str]:
        problems = accounts.name_problems("user", self.name)
        for group in (self.group, *(self.groups or ())):
            if group is not None and not group.isdigit():
                problems += accounts.name_problems("group", group)
        if self.uid is not None and not 0 <= self.uid < 2**32 - 1:
            problems.append(f"uid {self.uid} is out of range")
        for label, value in (("shell", self.shell), ("home", self.home)):
            if value is not None and (not value.startswith("/") or ":" in value or "\n" in value):
                problems.append(f"{label} {value!r} must be an absolute path without ':'")
        if self.comment is not None and (":" in self.comment or "\n" in self.comment):
            problems.append("comment must not contain ':' or a newline")
        if any("\n" in key or not key.strip() for key in self.authorized_keys or ()):
            problems.append("each authorized_keys entry must be one non-empty line")
        return problems

    # one `getent passwd` for every user; one whose keys are managed also runs its own probe
    batched: ClassVar[bool] = True

    @classmethod
    def batch_probe(cls, items: Sequence[Self], mark: str) -> str:
        """The passwd entries of every user, then one `groups` of those that should exist.

        `groups USER...` (as `id -Gn USER`, one line `USER : primary others` each), not the group
        database: it asks NSS for the user's groups as login does, which enumerating `getent group`
        does not (LDAP/sssd without enumeration).
        """
        plain = [u for u in items if u.authorized_keys is None]
        present = [quote(name) for name in dict.fromkeys(u.name for u in plain if u.state == "present")]
        text = accounts.many("passwd", [u.name for u in plain], mark) if plain else ""
        if present:
            text += f'echo {quote(mark + ":groups")}; groups -- {" ".join(present)} 2>/dev/null\n'
        return text + one_by_one([u for u in items if u.authorized_keys is not None], mark)

    @classmethod
    def batch_parse(cls, items: Sequence[Self], text: str, mark: str) -> list[UserState | Unreadable]:
        """Each user's state (the primary group is the first `groups` names)."""
        head, alone = split_one_by_one(text, mark)
        plain = iter(_parse_plain([u for u in items if u.authorized_keys is None], head, mark))
        keyed = itertools.count()  # the index of each key-managed user in its one_by_one section
        return [next(plain) if u.authorized_keys is None else _alone(u, alone, next(keyed)) for u in items]

    def touches(self) -> Touches:
        """Reads the account, its groups and (for its keys) its home; writes those and the account files."""
        home = self.home or f"/home/{self.name}"
        groups = {("group", g if not g.isdigit() else "*") for g in (self.group or self.name, *(self.groups or ()))}
        keys = set() if self.authorized_keys is None else {("tree", self.home or "*")}
        files = {("path", f"/etc/{name}") for name in ("passwd", "shadow", "group", "gshadow", "subuid", "subgid")}
        written = {("user", self.name), *groups, *keys, ("tree", home), ("path", f"/var/mail/{self.name}"), *files}
        return touches({("user", self.name), *groups, *keys}, written)

    def probe(self) -> str:
        text = accounts.one("passwd", self.name, "passwd")
        if self.state == "absent":
            return text
        # one `id -Gn`: the primary group is the first it names (as batch_parse reads it too)
        text += (f"if [ $r = 0 ]; then g=$(id -Gn -- {quote(self.name)})\n"
                 '  echo "primary=${g%% *}"; echo "groups=$g"\n')
        if self.authorized_keys is not None:
            home = quote(self.home) if self.home else '"$h"'
            text += '  h=${e#*:*:*:*:*:}; h=${h%%:*}\n' + f"  k={home}/.ssh\n" + _KEYS_PROBE
        return text + "fi\n"

    def parse(self, text: str) -> UserState:
        return user_state(text)

    def plan(self, observed: UserState) -> Step:
        seen = observed
        entry = seen.passwd.entry
        if seen.passwd.error:
            return unknown(f"user {self.name}: the passwd database could not be read")
        if self.state == "absent":
            if entry is None:
                return ok()
            return change(f"remove user {self.name}", Run(("userdel", "--", self.name)), kind="remove")
        if entry is None:
            return self._create()
        fields = entry.split(":")
        if len(fields) != 7:
            return unknown(f"user {self.name}: unexpected passwd entry {entry!r}")
        if seen.keys == "link":
            return unknown(f"user {self.name}: ~/.ssh or its authorized_keys is a symlink; "
                           "refusing to write through it")
        notes, options = self._changes(fields, seen)
        actions: list[Action] = [Run(("usermod", *options, "--", self.name))] if options else []
        primary = self.group or seen.primary or self.name
        key_notes, key_actions = self._keys(self.home or fields[5], primary, seen)
        if not notes and not key_notes:
            return ok()
        summary = f"modify user {self.name}: " + "; ".join(notes + key_notes)
        return change(summary, *actions, *key_actions)

    def _create(self) -> Step:
        argv = ["useradd"]
        if self.system:
            argv.append("--system")
        for option, value in (("--uid", None if self.uid is None else str(self.uid)),
                              ("--gid", self.group), ("--shell", self.shell),
                              ("--home-dir", self.home), ("--comment", self.comment)):
            if value is not None:
                argv += [option, value]
        if self.groups:
            argv += ["--groups", ",".join(self.groups)]
        argv += ["--create-home" if self.create_home else "--no-create-home", "--", self.name]
        home = self.home or f"/home/{self.name}"
        _, key_actions = self._keys(home, self.group or self.name, UserState())
        return change(f"create user {self.name}", Run(tuple(argv)), *key_actions, kind="create")

    def _changes(self, fields: list[str], seen: UserState) -> tuple[list[str], list[str]]:
        """What differs from the passwd entry and group lists, and the usermod options."""
        _, _, uid, gid, comment, home, shell = fields
        primary = seen.primary
        notes: list[str] = []
        options: list[str] = []
        if self.group is not None and self.group not in (primary, gid):
            notes.append(f"group {primary} -> {self.group}")
            options += ["--gid", self.group]
        for label, option, wanted, current in (
                ("uid", "--uid", None if self.uid is None else str(self.uid), uid),
                ("shell", "--shell", self.shell, shell), ("home", "--home", self.home, home),
                ("comment", "--comment", self.comment, comment)):
            if wanted is not None and wanted != current:
                notes.append(f"{label} {current!r} -> {wanted!r}")
                options += [option, wanted]
        if self.groups is not None:
            keep = {primary, self.group}
            current_groups = sorted(set(seen.groups) - keep)
            wanted_groups = sorted(set(self.groups) - keep)
            if current_groups != wanted_groups:
                notes.append(f"groups {','.join(current_groups) or '(none)'} -> "
                             f"{','.join(wanted_groups) or '(none)'}")
                options += ["--groups", ",".join(wanted_groups)]
        return notes, options

    def _keys(self, home: str, group: str, seen: UserState) -> tuple[list[str], list[Action]]:
        """Notes and actions that make ~/.ssh and authorized_keys exact (nothing if unmanaged)."""
        if self.authorized_keys is None:
            return [], []
        ssh = home.rstrip("/") + "/.ssh"
        owner = f"{self.name}:{group}"
        notes: list[str] = []
        actions: list[Action] = []
        if seen.ssh_dir != f"directory 700 {owner}":
            notes.append(f"{ssh} is {seen.ssh_dir or 'missing'}, wanted 0700 {owner}")
            actions.append(Run(("install", "-d", "-m", "0700", "-o", self.name, "-g", group, "--", ssh), at=ssh))
        sha = hashlib.sha256(self.keys_content).hexdigest()
        if seen.keys_sha256 != sha or seen.keys != f"600 {owner}":
            count = len(self.authorized_keys)
            notes.append(f"authorized_keys ({count} key{'' if count == 1 else 's'})")
            actions.append(Upload(f"{ssh}/authorized_keys", self.keys_content, "0600", self.name, group))
        return notes, actions

    def checks(self) -> list[Check]:
        return [Check(f"user {self.name} {self.state}", self._verify)]

    def _verify(self, host: Any) -> None:
        user = host.user(self.name)
        if self.state == "absent":
            assert not user.exists, f"user {self.name} exists"
            return
        assert user.exists, f"user {self.name} does not exist"
        wanted: list[tuple[str, Any, Any]] = [
            ("uid", self.uid, user.uid), ("shell", self.shell, user.shell),
            ("home", self.home, user.home), ("comment", self.comment, user.gecos)]
        if self.group is not None:
            wanted.append(("group", self.group, str(user.gid) if self.group.isdigit() else user.group))
        if self.groups is not None:
            keep = {user.group, self.group}
            wanted.append(("groups", sorted(set(self.groups) - keep), sorted(set(user.groups) - keep)))
        for label, expected, actual in wanted:
            assert expected is None or expected == actual, \
                f"user {self.name} {label} is {actual!r}, expected {expected!r}"
        if self.authorized_keys is not None:
            keys = host.file(f"{(self.home or user.home).rstrip('/')}/.ssh/authorized_keys")
            what = f"{self.name}'s authorized_keys"
            assert keys.is_file, f"{what} is missing"
            assert keys.content == self.keys_content, f"{what} has other content"
            assert keys.mode == 0o600, f"{what} mode is {keys.mode:o}, expected 600"
            assert keys.user == self.name, f"{what} is owned by {keys.user}"


def _parse_plain(users: list[User], text: str, mark: str) -> list[UserState]:
    """The states of users without managed keys from the shared `getent passwd` and `groups` output."""
    passwd, _, listed = text.partition(f"{mark}:groups\n")
    groups = {name: names.strip() for name, sep, names in (line.partition(" : ") for line in listed.split("\n"))
              if sep}
    entries = accounts.matched([u.name for u in users], accounts.results(passwd, mark)) if users else []
    found = []
    for user, entry in zip(users, entries, strict=True):
        if user.state == "absent" or entry.entry is None:
            found.append(UserState(entry))
        elif user.name not in groups:
            found.append(UserState(Lookup(None, "groups not read")))  # output cut short
        else:
            names = groups[user.name]
            found.append(UserState(entry, names.partition(" ")[0], tuple(names.split())))
    return found


def _alone(user: User, sections: dict[int, str], index: int) -> UserState | Unreadable:
    """The state of a user whose keys are managed, from its own probe inside the batch."""
    return user.parse(sections[index]) if index in sections else Unreadable("its probe printed nothing")
