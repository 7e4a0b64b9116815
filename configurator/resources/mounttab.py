"""Reading /etc/fstab and /proc/self/mountinfo, and comparing mount options as the kernel reports them."""

from __future__ import annotations

import re
from dataclasses import dataclass

# options only mount(8) and systemd read: the kernel never reports them
USERSPACE = frozenset({"defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group", "nofail",
                       "_netdev", "bind", "rbind", "loop", "async", "sw", "remount"})
USERSPACE_PREFIXES = ("x-", "X-", "comment=", "loop=", "offset=", "sizelimit=", "encryption=")
# per-mount flags (mountinfo field 6) with the option that clears each
FLAGS = {"nosuid": "suid", "nodev": "dev", "noexec": "exec", "ro": "rw"}
# what these options set, as mount(8) says (a later option still wins: `user,exec`)
IMPLIED = {"user": ("noexec", "nosuid", "nodev"), "users": ("noexec", "nosuid", "nodev"),
           "owner": ("nosuid", "nodev"), "group": ("nosuid", "nodev"), "defaults": ("rw", "suid", "dev", "exec")}
ATIME = ("noatime", "relatime", "strictatime")  # the kernel shows the first two; strictatime shows neither
SUPER_FLAGS = frozenset({"sync", "dirsync", "lazytime", "mand"})  # shown in the super block options
# set when a filesystem is mounted and kept by a remount (tmpfs, vfat): a change needs a fresh mount
FIXED_AT_MOUNT = frozenset({"mode", "uid", "gid"})
OCTAL_KEYS = frozenset({"mode", "umask", "dmode", "fmode", "dmask", "fmask"})
SIZED = re.compile(r"^(\d+)([kmgtpe]?)\Z", re.I)
_ESCAPE = {" ": "\\040", "\t": "\\011", "\n": "\\012", "\\": "\\134"}


def escape(text: str) -> str:
    """A path or device as fstab and mountinfo write it (space, tab, newline and backslash as octal)."""
    return "".join(_ESCAPE.get(c, c) for c in text)


def unescape(text: str) -> str:
    """The text an fstab or mountinfo field stands for."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


@dataclass(frozen=True)
class Entry:
    """One fstab line's six fields (unescaped)."""

    device: str
    path: str
    fstype: str
    opts: str = "defaults"
    dump: str = "0"
    passno: str = "0"

    def line(self) -> str:
        """The entry as an fstab line."""
        return f"{escape(self.device)} {escape(self.path)} {self.fstype} {self.opts} {self.dump} {self.passno}"


def read_entry(line: str) -> Entry | None:
    """The entry on an fstab line, or None for a comment, a blank or a short line."""
    fields = line.split()
    if len(fields) < 3 or fields[0].startswith("#"):
        return None
    device, path, fstype, *rest = fields
    rest += ["defaults", "0", "0"][len(rest):]
    return Entry(unescape(device), unescape(path), fstype, rest[0], rest[1], rest[2])


def edit_fstab(lines: list[str], wanted: Entry | None, path: str) -> tuple[list[str], str]:
    """fstab lines with exactly `wanted` for `path` (or no entry when None), and what changed ("" = nothing)."""
    found = [n for n, text in enumerate(lines) if (e := read_entry(text)) is not None and e.path == path]
    if wanted is None:
        if not found:
            return lines, ""
        return [t for n, t in enumerate(lines) if n not in found], f"remove {path} from /etc/fstab"
    if len(found) == 1 and read_entry(lines[found[0]]) == wanted:
        return lines, ""
    if not found:
        return [*lines, wanted.line()], f"add {path} to /etc/fstab"
    first = found[0]
    kept = [wanted.line() if n == first else t for n, t in enumerate(lines) if n == first or n not in found]
    return kept, f"update {path} in /etc/fstab"


def fstab_entry(lines: list[str], path: str) -> Entry | None:
    """The first fstab entry for mount point `path`."""
    return next((e for t in lines if (e := read_entry(t)) is not None and e.path == path), None)


@dataclass(frozen=True)
class Mounted:
    """What mountinfo says of the topmost mount at a mount point."""

    root: str
    flags: tuple[str, ...]
    fstype: str
    source: str
    options: tuple[str, ...]  # the super block's options


def mounted_at(mountinfo: str, path: str) -> Mounted | None:
    """The topmost mount on `path` in /proc/self/mountinfo text (the last line for it), or None."""
    found = None
    for line in mountinfo.split("\n"):
        head, sep, tail = line.partition(" - ")
        fields, after = head.split(" "), tail.split(" ")
        if sep and len(fields) >= 6 and len(after) >= 3 and unescape(fields[4]) == path:
            found = Mounted(unescape(fields[3]), tuple(fields[5].split(",")), after[0], unescape(after[1]),
                            tuple(after[2].split(",")))
    return found


def as_mounted(seen: Mounted) -> str | None:
    """`-o` that mounts what `seen` describes again (its flags, then its super block's options), or None
    for a bind of a subtree (mountinfo names its device, not the directory that was bound)."""
    if seen.root != "/":
        return None
    return ",".join(dict.fromkeys((*seen.flags, *seen.options)))


def options(text: str) -> list[str]:
    """An fstab options field as a list (empty entries dropped)."""
    return [o for o in text.split(",") if o]


def _userspace(option: str) -> bool:
    return option in USERSPACE or option.startswith(USERSPACE_PREFIXES)


def wanted_flags(opts: list[str]) -> dict[str, bool]:
    """Each per-mount flag (nosuid, nodev, noexec, ro) the options ask for, the last mention winning
    (`user` and the like count as the flags they imply); unmentioned ones are off, as mount(8) leaves them."""
    wanted = dict.fromkeys(FLAGS, False)
    for option in (each for given in opts for each in IMPLIED.get(given, (given,))):
        for flag, clear in FLAGS.items():
            if option in (flag, clear):
                wanted[flag] = option == flag
    return wanted


def normal(key: str, value: str) -> str:
    """An option value the way the kernel prints it: sizes in bytes, modes in octal without zeros."""
    if key in OCTAL_KEYS and re.fullmatch(r"[0-7]+", value):
        return f"{int(value, 8):o}"
    sized = SIZED.match(value)
    if sized:
        return str(int(sized.group(1)) * 1024 ** " kmgtpe".index((sized.group(2) or " ").lower()))
    return value


def differences(opts: list[str], seen: Mounted, bind: bool) -> list[str]:
    """The options the kernel does not show as asked ("noexec", "size=8m", ...); empty when all match."""
    found: list[str] = []
    flags = set(seen.flags)
    for flag, on in wanted_flags(opts).items():
        if (flag in flags) != on:
            found.append(flag if on else FLAGS[flag])
    atime = [o for o in opts if o in ATIME]
    if atime and not _atime_shown(atime[-1], flags):
        found.append(atime[-1])
    if "nodiratime" in opts and "nodiratime" not in flags:
        found.append("nodiratime")
    if not bind:
        found += _super_differences(opts, seen.options)
    return found


def _atime_shown(wanted: str, flags: set[str]) -> bool:
    """Whether the mount's flags show the atime option asked for (strictatime shows as neither other)."""
    return not flags & {"noatime", "relatime"} if wanted == "strictatime" else wanted in flags


def _super_differences(opts: list[str], shown: tuple[str, ...]) -> list[str]:
    """Filesystem options the kernel shows with another value (those it does not show are not compared)."""
    values = {k: v for k, _, v in (o.partition("=") for o in shown)}
    found: list[str] = []
    for option in opts:
        key, sep, value = option.partition("=")
        if _userspace(option) or key in FLAGS or key in FLAGS.values() or option in ATIME:
            continue
        flag_missing = option in SUPER_FLAGS and option not in shown
        if flag_missing or (sep and key in values and not value.endswith("%")
                            and normal(key, value) != normal(key, values[key])):
            found.append(option)
    return found


def fixed_at_mount(wrong: list[str]) -> list[str]:
    """Those of the differing options that a remount cannot change."""
    return [o for o in wrong if o.partition("=")[0] in FIXED_AT_MOUNT]


def remount_options(opts: list[str], seen: Mounted) -> str:
    """`-o` for a remount: the wanted options, then the clearing option of every flag no longer wanted
    (a remount keeps a flag it is not told to clear)."""
    clear = [FLAGS[f] for f, on in wanted_flags(opts).items() if not on and f in seen.flags]
    if any(o in ("noatime", "relatime") for o in seen.flags) and "strictatime" in opts:
        clear.append("strictatime")
    kept = [o for o in opts if not _userspace(o) or o == "bind"]
    return ",".join(["remount", *kept, *clear])
