"""Mounts: an /etc/fstab entry, and whether the filesystem is mounted with the options asked for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

from configurator.engine.actions import Action, Run, quote
from configurator.resources import mounttab, textfile
from configurator.resources.base import Check, Resource, Step, Unreadable, change, ok, unknown
from configurator.resources.mounttab import Entry, Mounted
from configurator.resources.touch import Touches, touches, with_parents

FSTAB = "/etc/fstab"
_ONE = "@@mount"  # the separator of a lone probe: fstab arrives in base64 and mountinfo lines start with digits
# $1 the mount point; $2-$4 type, options and device asked for; $5-$7 those of what was mounted ("" when
# it cannot be named again): sh, so that the mount back runs in the same step, whatever stopped the mount
_AFRESH = ('umount -- "$1" || exit; mount -t "$2" -o "$3" -- "$4" "$1" && exit 0; s=$?\n'
           'if [ -n "$5" ] && mount -t "$5" -o "$6" -- "$7" "$1"; then '
           'echo "configurator: the mount was refused; $7 ($5) is mounted on $1 again, as it was" >&2\n'
           'else echo "configurator: the mount was refused and $1 is left unmounted" >&2; fi\nexit $s\n')


@dataclass(frozen=True)
class MountState:
    """/etc/fstab as read, the topmost mount on the mount point (None: nothing), and what the point is."""

    fstab: textfile.TextState
    mounted: Mounted | None
    point: str  # directory | absent | other


def _point_probe(paths: Sequence[str]) -> str:
    """sh that prints, per path, whether it is a directory (d), missing (a) or something else (o)."""
    return (f"for p in {' '.join(quote(p) for p in paths)}; do "
            'if [ -d "$p" ] && [ ! -L "$p" ]; then echo d; elif [ -e "$p" ] || [ -L "$p" ]; then echo o; '
            "else echo a; fi; done\n")


@dataclass(frozen=True)
class Mount(Resource[MountState]):
    """A filesystem in /etc/fstab, mounted (or not) with the options asked for.

    Example: `mount: {path: /srv/scratch, device: tmpfs, fstype: tmpfs, opts: "size=64m,mode=0755"}`

    `state`: `mounted` (in fstab and mounted; the mount point is created when missing),
    `present` (in fstab only, mounted or not), `unmounted` (in fstab, not mounted) or `absent`
    (neither; the mount point is kept). A bind mount is `device: /srv/data, fstype: none,
    opts: bind`. The fstab line is compared field by field and rewritten atomically. A mounted
    filesystem is compared with `opts` as the kernel shows them in /proc/self/mountinfo, so
    `defaults` or `size=64m` do not differ from the kernel's `rw` or `size=65536k`; options the
    kernel does not show (`nofail`, `x-systemd.*`, a `uid=` equal to the default) are not
    compared. Changed options are applied with a remount; another device or filesystem type,
    or a `mode`, `uid` or `gid` that a remount keeps (tmpfs), with an unmount and a mount (the
    content of a tmpfs is then lost; an unmount of a busy filesystem fails the step; a mount the
    kernel refuses mounts back what was there, as it was, and fails the step). A bind
    mount's source is compared through fstab only (the kernel names the underlying device).
    The fstab line is written only after the mount or remount succeeded (mounted with device, type
    and options named, so mount(8) reads nothing from fstab): one the kernel refuses fails the step
    with mount's own message and leaves /etc/fstab as it was, so no line that cannot mount waits
    for the next boot. An unmount likewise comes before the line is removed or changed.
    fstab is not followed by a daemon-reload: systemd reads it again at boot.
    """

    path: str
    device: str
    fstype: str
    opts: str = "defaults"
    dump: int = 0
    passno: int = 0
    state: Literal["mounted", "present", "unmounted", "absent"] = "mounted"
    type: ClassVar[str] = "mount"
    batched: ClassVar[bool] = True  # one read of fstab and mountinfo for every mount of the host

    @property
    def id(self) -> str:
        return f"{self.type}[{self.path}]"

    @property
    def entry(self) -> Entry:
        return Entry(self.device, self.path, self.fstype, self.opts, str(self.dump), str(self.passno))

    @property
    def bind(self) -> bool:
        return any(o in ("bind", "rbind") for o in mounttab.options(self.opts))

    def validate(self) -> list[str]:
        problems = []
        if not self.path.startswith("/") or self.path != "/" and self.path.endswith("/"):
            problems.append(f"path {self.path!r} must be absolute, without a trailing /")
        for name, value in (("device", self.device), ("fstype", self.fstype), ("opts", self.opts)):
            if not value or any(c.isspace() for c in value) and name != "device":
                problems.append(f"{name} {value!r} must be one word")
        if any(c in self.device + self.path for c in "\n\0"):
            problems.append("device and path must be one line")
        if self.dump < 0 or self.passno < 0:
            problems.append("dump and passno must be 0 or more")
        return problems

    @classmethod
    def batch_probe(cls, items: Sequence[Self], mark: str) -> str:
        """fstab (whole), the mountinfo lines of the mount points, and what each mount point is."""
        grep = " ".join(f"-e {quote(' ' + mounttab.escape(m.path) + ' ')}" for m in items)
        return (f"{textfile.probe(FSTAB)}echo {quote(mark)}\n"
                f"grep -F {grep} /proc/self/mountinfo\necho {quote(mark)}\n{_point_probe([m.path for m in items])}")

    @classmethod
    def batch_parse(cls, items: Sequence[Self], text: str, mark: str) -> list[MountState | Unreadable]:
        """Each mount's state from the one batch."""
        parts = text.split(f"{mark}\n")
        points = parts[2].split() if len(parts) == 3 else []
        if len(points) != len(items):
            return [Unreadable("the mount probe was cut short")] * len(items)
        fstab = textfile.parse(parts[0])
        kinds = {"d": "directory", "a": "absent"}
        return [MountState(fstab, mounttab.mounted_at(parts[1], m.path), kinds.get(k, "other"))
                for m, k in zip(items, points, strict=True)]

    def touches(self) -> Touches:
        """Reads fstab, the mount point and what is mounted there; mounting changes all beneath it."""
        mine = {("path", FSTAB), ("mount", self.path), ("path", self.path)}
        return touches(mine, {*mine, ("tree", self.path), *with_parents(self.path)})

    def probe(self) -> str:
        return self.batch_probe([self], _ONE)

    def parse(self, text: str) -> MountState:
        state = self.batch_parse([self], text, _ONE)[0]
        if isinstance(state, Unreadable):
            raise ValueError(state.reason)
        return state

    def plan(self, observed: MountState) -> Step:
        wanted = None if self.state == "absent" else self.entry
        edit = textfile.plan(FSTAB, observed.fstab, lambda lines: mounttab.edit_fstab(lines, wanted, self.path),
                             lambda: textfile.missing(FSTAB, wanted is None, True,
                                                      (wanted.line() + "\n").encode() if wanted else b"",
                                                      f"create {FSTAB} with {self.path}"))
        if edit.status == "unknown":
            return edit
        before = self._old_entry(observed.fstab)
        mounting = self._mounting(observed, before)
        if isinstance(mounting, str):
            return unknown(mounting)
        notes, actions = mounting
        if not edit.actions and not actions:
            return ok(self._summary(observed.mounted))
        # fstab last: a mount the kernel refuses fails the step before fstab holds a line that cannot mount
        steps = [*actions, *edit.actions]
        summary = ", ".join(s for s in (edit.summary, *notes) if s)
        kind: Literal["create", "remove", "modify"] = "remove" if self.state == "absent" else (
            "create" if before is None else "modify")
        return change(summary, *steps, diff=edit.diff, kind=kind)

    def _old_entry(self, fstab: textfile.TextState) -> Entry | None:
        if fstab.content is None:
            return None
        return mounttab.fstab_entry(textfile.split(fstab.content.decode("utf-8", "surrogateescape")), self.path)

    def _mounting(self, seen: MountState, before: Entry | None) -> tuple[list[str], list[Action]] | str:
        """What to say and run on the mount itself, or why it cannot be decided."""
        mounted = seen.mounted
        # as the path's actor (hostpaths): root (un)mounts only where no other user can swap the mount point
        umount = Run(("umount", "--", self.path), at=self.path)
        if self.state in ("absent", "unmounted"):
            return ([f"unmount {self.path}"], [umount]) if mounted else ([], [])
        if self.state == "present":
            return [], []
        # source and target both given: mount(8) reads nothing from fstab, which is written after it
        mount = Run(("mount", "-t", self.fstype, "-o", self.opts, "--", self.device, self.path), at=self.path)
        if mounted is None:
            if seen.point == "other":
                return f"{self.path} exists and is not a directory"
            mkdir = [Run(("mkdir", "-p", "--", self.path), at=self.path)] if seen.point == "absent" else []
            return [f"mount {self.path}"], [*mkdir, mount]
        if self._elsewhere(mounted, before):
            return [f"mount {self.device} on {self.path} again ({mounted.fstype} {mounted.source} is mounted)"], [
                self._afresh(mounted)]
        wrong = mounttab.differences(mounttab.options(self.opts), mounted, self.bind)
        if not wrong:
            return [], []
        fixed = mounttab.fixed_at_mount(wrong)
        if fixed:
            return [f"mount {self.path} again ({', '.join(fixed)} cannot change on a remount)"], [self._afresh(mounted)]
        opts = mounttab.remount_options(mounttab.options(self.opts), mounted)
        return [f"remount {self.path} ({', '.join(wrong)})"], [
            Run(("mount", "-o", opts, "--", self.device, self.path), at=self.path)]

    def _afresh(self, mounted: Mounted) -> Run:
        """Unmount, then mount as asked; a mount the kernel refuses puts back what was mounted (a tmpfs
        empty), so a typo in `opts` does not leave the path unmounted, and the step fails."""
        again = mounttab.as_mounted(mounted)
        back = (mounted.fstype, again, mounted.source) if again is not None else ("", "", "")
        return Run(("sh", "-c", _AFRESH, "sh", self.path, self.fstype, self.opts, self.device, *back), at=self.path)

    def _elsewhere(self, mounted: Mounted, before: Entry | None) -> bool:
        """Whether what is mounted is another filesystem than the one asked for (a remount cannot fix it)."""
        if before is not None and (before.device, before.fstype) != (self.device, self.fstype):
            return True
        return not self.bind and self.fstype not in ("auto", "none") and mounted.fstype != self.fstype

    def _summary(self, mounted: Mounted | None) -> str:
        if mounted is None:
            return f"{self.path} in fstab, not mounted"
        return f"{self.path} {mounted.fstype} {','.join(mounted.flags)}"

    def checks(self) -> list[Check]:
        return [Check(f"mount {self.path} {self.state}", self._verify)]

    def _verify(self, host: Any) -> None:
        fstab = textfile.split(host.file(FSTAB).content_string) if host.file(FSTAB).exists else []
        found = mounttab.fstab_entry(fstab, self.path)
        if self.state == "absent":
            assert found is None, f"{FSTAB} still has {self.path}: {found}"
        else:
            assert found == self.entry, f"{FSTAB} entry for {self.path} is {found}, expected {self.entry}"
        mounted = mounttab.mounted_at(host.file("/proc/self/mountinfo").content_string, self.path)
        if self.state in ("absent", "unmounted"):
            assert mounted is None, f"{self.path} is mounted ({mounted})"
        if self.state == "mounted":
            assert mounted is not None, f"{self.path} is not mounted"
            wrong = mounttab.differences(mounttab.options(self.opts), mounted, self.bind)
            assert not wrong, f"{self.path} is mounted without {', '.join(wrong)}"
