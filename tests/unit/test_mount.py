"""Mount: fstab text and mountinfo lines in, actions out; options compared as the kernel shows them."""

from __future__ import annotations

import base64
import subprocess
from typing import Any

import pytest

from configurator.engine.actions import Run, Upload
from configurator.resources import mounttab
from configurator.resources.base import decide
from configurator.resources.mount import _AFRESH, Mount

T = "/mnt/t"
FSTAB = b"# static\nUUID=1 / ext4 errors=remount-ro 0 1\n"
TMPFS = "5279 1414 0:568 / /mnt/t rw,nosuid,relatime - tmpfs tmpfs rw,size=16384k,mode=755\n"
BIND = "5280 1414 0:304 /srv/a /mnt/b ro,relatime - overlay overlay rw,lowerdir=/x\n"


def observed(fstab: bytes | None, mountinfo: str = "", point: str = "d", mark: str = "@@mount") -> str:
    """What the mount probe prints: fstab (as textfile reads it), mountinfo lines, what the point is."""
    if fstab is None:
        head = "type=absent\n"
    else:
        b64 = base64.b64encode(fstab).decode()
        head = f"type=file\nmode=644\nowner=root\ngroup=root\nsize={len(fstab)}\ncontent_b64={b64}\n"
    return f"{head}{mark}\n{mountinfo}{mark}\n{point}\n"


def tmpfs(**args: Any) -> Mount:
    return Mount(**{"path": T, "device": "tmpfs", "fstype": "tmpfs", "opts": "size=16m,mode=0755,nosuid", **args})


def mount_t(opts: str = "size=16m,mode=0755,nosuid", device: str = "tmpfs") -> Run:
    """The mount of /mnt/t with its source, type and options given (mount(8) then reads no fstab)."""
    return Run(("mount", "-t", "tmpfs", "-o", opts, "--", device, T), at=T)


LINE = b"tmpfs /mnt/t tmpfs size=16m,mode=0755,nosuid 0 0\n"
MOUNT = mount_t()
UMOUNT = Run(("umount", "--", T), at=T)
BACK = ("tmpfs", "rw,nosuid,relatime,size=16384k,mode=755", "tmpfs")  # what TMPFS shows, to mount it back


def afresh(opts: str, device: str = "tmpfs") -> Run:
    """Unmount /mnt/t, mount it as asked, and mount back what TMPFS shows if that mount is refused."""
    return Run(("sh", "-c", _AFRESH, "sh", T, "tmpfs", opts, device, *BACK), at=T)

# (resource, fstab before, mountinfo, mount point, fstab after or None, the other actions, summary)
CASES = [
    (tmpfs(), FSTAB + LINE, TMPFS, "d", None, (), ""),
    (tmpfs(opts="defaults,size=16m,nosuid,mode=755,nofail"), FSTAB +
     b"tmpfs /mnt/t tmpfs defaults,size=16m,nosuid,mode=755,nofail 0 0\n", TMPFS, "d", None, (), ""),
    (tmpfs(), FSTAB, "", "a", FSTAB + LINE, (Run(("mkdir", "-p", "--", T), at=T), MOUNT),
     "add /mnt/t to /etc/fstab, mount /mnt/t"),
    (tmpfs(), FSTAB, "", "d", FSTAB + LINE, (MOUNT,), "add /mnt/t to /etc/fstab, mount /mnt/t"),
    (tmpfs(), FSTAB + LINE, "", "d", None, (MOUNT,), "mount /mnt/t"),
    (tmpfs(opts="size=8m,mode=0755,nosuid,noexec"), FSTAB + LINE, TMPFS, "d",
     FSTAB + b"tmpfs /mnt/t tmpfs size=8m,mode=0755,nosuid,noexec 0 0\n",
     (Run(("mount", "-o", "remount,size=8m,mode=0755,nosuid,noexec", "--", "tmpfs", T), at=T),),
     "update /mnt/t in /etc/fstab, remount /mnt/t (noexec, size=8m)"),
    (tmpfs(opts="size=16m,mode=0700,nosuid"), FSTAB + LINE, TMPFS, "d",
     FSTAB + b"tmpfs /mnt/t tmpfs size=16m,mode=0700,nosuid 0 0\n", (afresh("size=16m,mode=0700,nosuid"),),
     "update /mnt/t in /etc/fstab, mount /mnt/t again (mode=0700 cannot change on a remount)"),
    (tmpfs(opts="size=16m,mode=0755"), FSTAB + LINE, TMPFS, "d",
     FSTAB + b"tmpfs /mnt/t tmpfs size=16m,mode=0755 0 0\n",
     (Run(("mount", "-o", "remount,size=16m,mode=0755,suid", "--", "tmpfs", T), at=T),),
     "update /mnt/t in /etc/fstab, remount /mnt/t (suid)"),
    (tmpfs(device="scratch"), FSTAB + LINE, TMPFS, "d",
     FSTAB + b"scratch /mnt/t tmpfs size=16m,mode=0755,nosuid 0 0\n",
     (afresh("size=16m,mode=0755,nosuid", device="scratch"),),
     "update /mnt/t in /etc/fstab, mount scratch on /mnt/t again (tmpfs tmpfs is mounted)"),
    (tmpfs(state="present"), FSTAB + LINE, "", "a", None, (), ""),
    (tmpfs(state="present"), FSTAB, TMPFS, "d", FSTAB + LINE, (), "add /mnt/t to /etc/fstab"),
    (tmpfs(state="unmounted"), FSTAB + LINE, TMPFS, "d", None, (UMOUNT,), "unmount /mnt/t"),
    (tmpfs(state="unmounted"), FSTAB + LINE, "", "d", None, (), ""),
    (tmpfs(state="absent"), FSTAB + LINE + LINE, TMPFS, "d", FSTAB, (UMOUNT,),
     "remove /mnt/t from /etc/fstab, unmount /mnt/t"),
    (tmpfs(state="absent"), FSTAB, "", "a", None, (), ""),
    (tmpfs(state="absent"), None, "", "a", None, (), ""),
    (tmpfs(), FSTAB + b"tmpfs\t/mnt/t\ttmpfs\tsize=16m,mode=0755,nosuid\n", TMPFS, "d", None, (), ""),
    (Mount("/mnt/b", "/srv/a", "none", "bind,ro"), FSTAB + b"/srv/a /mnt/b none bind,ro 0 0\n", BIND, "d",
     None, (), ""),
    (Mount("/mnt/b", "/srv/a", "none", "bind"), FSTAB + b"/srv/a /mnt/b none bind,ro 0 0\n", BIND, "d",
     FSTAB + b"/srv/a /mnt/b none bind 0 0\n",
     (Run(("mount", "-o", "remount,bind,rw", "--", "/srv/a", "/mnt/b"), at="/mnt/b"),),
     "update /mnt/b in /etc/fstab, remount /mnt/b (rw)"),
]


@pytest.mark.parametrize(("mount", "before", "info", "point", "after", "actions", "summary"), CASES)
def test_plan(mount: Mount, before: bytes | None, info: str, point: str, after: bytes | None,
              actions: tuple[Run, ...], summary: str) -> None:
    step = decide(mount, observed(before, info, point))
    if after is None and not actions:
        assert (step.status, step.actions) == ("ok", ())
        return
    uploads = [a for a in step.actions if isinstance(a, Upload)]
    runs = tuple(a for a in step.actions if isinstance(a, Run))
    assert (step.status, step.summary) == ("change", summary)
    assert [u.content for u in uploads] == ([after] if after is not None else [])
    assert all(u.path == "/etc/fstab" and u.mode == "0644" for u in uploads)
    assert runs == actions


def kinds(actions: tuple[Run | Upload, ...]) -> list[str]:
    """Each action as a word: the command's name and a remount told apart, or "fstab" for the upload;
    an unmount and mount afresh (_AFRESH) as the two it runs."""
    words: list[str] = []
    for a in actions:
        if isinstance(a, Upload):
            words.append("fstab")
        elif a.argv[:3] == ("sh", "-c", _AFRESH):
            words += ["umount", "mount"]
        else:
            words.append("remount" if "remount" in a.argv[2] else a.argv[0])
    return words


# (resource, fstab before, mountinfo, mount point, the actions in order): fstab is always written last, so a
# refused mount, remount or unmount fails the step before /etc/fstab changes
@pytest.mark.parametrize(("mount", "before", "info", "point", "order"), [
    (tmpfs(), FSTAB, "", "a", ["mkdir", "mount", "fstab"]),
    (tmpfs(), None, "", "d", ["mount", "fstab"]),
    (tmpfs(opts="size=8m,mode=0755,nosuid"), FSTAB + LINE, TMPFS, "d", ["remount", "fstab"]),
    (tmpfs(opts="size=16m,mode=0700,nosuid"), FSTAB + LINE, TMPFS, "d", ["umount", "mount", "fstab"]),
    (tmpfs(device="scratch"), FSTAB + LINE, TMPFS, "d", ["umount", "mount", "fstab"]),
    (tmpfs(opts="size=8m"), FSTAB + LINE, "", "d", ["mount", "fstab"]),
    (tmpfs(state="present"), FSTAB, TMPFS, "d", ["fstab"]),
    (tmpfs(state="unmounted"), FSTAB, TMPFS, "d", ["umount", "fstab"]),
    (tmpfs(state="absent"), FSTAB + LINE, TMPFS, "d", ["umount", "fstab"]),
])
def test_fstab_is_written_after_the_mount_or_unmount(mount: Mount, before: bytes | None, info: str, point: str,
                                                     order: list[str]) -> None:
    assert kinds(decide(mount, observed(before, info, point)).actions) == order


def test_a_remount_names_source_and_target_so_the_old_fstab_line_is_not_merged() -> None:
    """With the target alone, mount(8) adds the options of the fstab line, still the old one at that time."""
    old = FSTAB + b"tmpfs /mnt/t tmpfs size=16m,mode=0755,nosuid,sync 0 0\n"
    step = decide(tmpfs(opts="size=8m,mode=0755"), observed(old, TMPFS))
    remount = step.actions[0]
    assert isinstance(remount, Run) and remount.argv[-3:] == ("--", "tmpfs", T) and "--target" not in remount.argv


@pytest.mark.parametrize(("point", "why"), [("o", "exists and is not a directory")])
def test_unknown_when_the_mount_point_is_not_a_directory(point: str, why: str) -> None:
    step = decide(tmpfs(), observed(FSTAB + LINE, "", point))
    assert step.status == "unknown" and why in step.summary


def test_missing_fstab_is_created() -> None:
    step = decide(tmpfs(), observed(None))
    assert step.kind == "create" and step.actions[-1] == Upload("/etc/fstab", LINE, "0644", "", "")


@pytest.mark.parametrize(("opts", "line", "wrong"), [
    ("defaults", "rw,relatime - tmpfs tmpfs rw,size=100k", []),
    ("size=64m", "rw,relatime - tmpfs tmpfs rw,size=65536k", []),
    ("size=1g,mode=1777", "rw - tmpfs tmpfs rw,size=1048576k,mode=1777", []),
    ("size=50%", "rw - tmpfs tmpfs rw,size=1000k", []),
    ("uid=0,nofail,x-systemd.automount,_netdev", "rw - tmpfs tmpfs rw", []),
    ("ro,noexec,nodev", "ro,nodev,noexec,relatime - tmpfs tmpfs ro", []),
    ("ro,rw", "rw - tmpfs tmpfs rw", []),
    ("ro", "rw - tmpfs tmpfs rw", ["ro"]),
    ("exec", "rw,noexec - tmpfs tmpfs rw", ["exec"]),
    ("noatime", "rw,relatime - tmpfs tmpfs rw", ["noatime"]),
    ("strictatime", "rw - tmpfs tmpfs rw", []),
    ("strictatime", "rw,relatime - tmpfs tmpfs rw", ["strictatime"]),
    ("size=8m", "rw - tmpfs tmpfs rw,size=16384k", ["size=8m"]),
    ("mode=0700", "rw - tmpfs tmpfs rw,mode=755", ["mode=0700"]),
    ("sync", "rw - tmpfs tmpfs rw", ["sync"]),
    # mount(8): user and users imply noexec, nosuid, nodev; owner and group nosuid, nodev; a later option wins
    ("user", "rw,nosuid,nodev,noexec - tmpfs tmpfs rw", []),
    ("users,exec", "rw,nosuid,nodev - tmpfs tmpfs rw", []),
    ("owner", "rw,nosuid,nodev - tmpfs tmpfs rw", []),
    ("group,dev", "rw,nosuid - tmpfs tmpfs rw", []),
    ("user", "rw - tmpfs tmpfs rw", ["nosuid", "nodev", "noexec"]),
    ("nosuid,defaults", "rw,nosuid - tmpfs tmpfs rw", ["suid"]),
])
def test_options_compared_as_the_kernel_shows_them(opts: str, line: str, wrong: list[str]) -> None:
    seen = mounttab.mounted_at(f"1 2 0:1 / /m {line}\n", "/m")
    assert seen is not None
    assert mounttab.differences(mounttab.options(opts), seen, bind=False) == wrong


def test_mountinfo_escapes_and_the_topmost_mount() -> None:
    text = ("1 2 0:1 / /mnt/a\\040b rw - tmpfs one rw\n"
            "3 1 0:2 / /mnt/a\\040b rw,noexec - tmpfs two rw\n4 1 0:3 / /mnt/a rw - tmpfs x rw\n")
    seen = mounttab.mounted_at(text, "/mnt/a b")
    assert seen is not None and seen.source == "two" and "noexec" in seen.flags


def test_a_path_with_a_space_is_escaped_in_fstab() -> None:
    step = decide(tmpfs(path="/mnt/a b"), observed(FSTAB, "", "d"))
    mount, upload = step.actions
    assert isinstance(mount, Run) and mount.argv[-1] == "/mnt/a b" and isinstance(upload, Upload)
    assert upload.content.endswith(b"tmpfs /mnt/a\\040b tmpfs size=16m,mode=0755,nosuid 0 0\n")
    assert mounttab.fstab_entry(upload.content.decode().splitlines(), "/mnt/a b") == tmpfs(path="/mnt/a b").entry


@pytest.mark.parametrize(("args", "problem"), [
    ({"path": "mnt"}, "must be absolute"),
    ({"path": "/mnt/"}, "must be absolute"),
    ({"opts": "a b"}, "must be one word"),
    ({"fstype": ""}, "must be one word"),
    ({"dump": -1}, "0 or more"),
])
def test_validate(args: dict[str, Any], problem: str) -> None:
    assert any(problem in p for p in tmpfs(**args).validate())


def test_batch_equals_one_by_one_on_this_machine() -> None:
    """The real probe runs here: the batched states equal each mount's own."""
    items = [tmpfs(path="/proc"), tmpfs(path="/nonexistent/x"), tmpfs(path="/etc/hostname")]
    mark = "@@t:b0"
    batch = subprocess.run(["sh", "-c", Mount.batch_probe(items, mark)], capture_output=True, text=True).stdout
    alone = [i.parse(subprocess.run(["sh", "-c", i.probe()], capture_output=True, text=True).stdout) for i in items]
    assert Mount.batch_parse(items, batch, mark) == alone
    assert [s.point for s in alone] == ["directory", "absent", "other"]
    assert alone[0].mounted is not None and alone[0].mounted.fstype == "proc"


class FakeFile:
    def __init__(self, text: str | None) -> None:
        self.exists, self.content_string = text is not None, text or ""


class FakeHost:
    """What the mount check reads through testinfra: /etc/fstab and /proc/self/mountinfo."""

    def __init__(self, fstab: str | None, mountinfo: str) -> None:
        self.files = {"/etc/fstab": fstab, "/proc/self/mountinfo": mountinfo}

    def file(self, path: str) -> FakeFile:
        return FakeFile(self.files[path])


@pytest.mark.parametrize(("mount", "fstab", "info", "passes"), [
    (tmpfs(), LINE.decode(), TMPFS, True),
    (tmpfs(), LINE.decode(), "", False),
    (tmpfs(), "", TMPFS, False),
    (tmpfs(opts="size=16m,mode=0755,nosuid,noexec"), "tmpfs /mnt/t tmpfs size=16m,mode=0755,nosuid,noexec 0 0\n",
     TMPFS, False),
    (tmpfs(state="unmounted"), LINE.decode(), "", True),
    (tmpfs(state="unmounted"), LINE.decode(), TMPFS, False),
    (tmpfs(state="absent"), None, "", True),
    (tmpfs(state="absent"), LINE.decode(), "", False),
    (tmpfs(state="present"), LINE.decode(), TMPFS, True),
])
def test_verify_check(mount: Mount, fstab: str | None, info: str, passes: bool) -> None:
    (check,) = mount.checks()
    if passes:
        check.test(FakeHost(fstab, info))
    else:
        with pytest.raises(AssertionError):
            check.test(FakeHost(fstab, info))


def run_afresh(tmp_path: Any, umount: int, mount: int, back: tuple[str, str, str] = BACK) -> tuple[int, list[str], str]:
    """_AFRESH with umount and mount stand-ins that exit as told (mount: the first call; a second, the
    mount back, succeeds): its status, the calls, its stderr."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    (bin_dir / "umount").write_text(f'#!/bin/sh\necho "umount $*" >> {log}\nexit {umount}\n')
    (bin_dir / "mount").write_text(f'#!/bin/sh\necho "mount $*" >> {log}\n'
                                   f'[ "$(grep -c ^mount {log})" -gt 1 ] && exit 0; exit {mount}\n')
    for tool in ("umount", "mount"):
        (bin_dir / tool).chmod(0o755)
    done = subprocess.run(["sh", "-c", _AFRESH, "sh", T, "tmpfs", "mode=0700,bad", "tmpfs", *back],
                          capture_output=True, text=True, check=False, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    return done.returncode, log.read_text().splitlines() if log.exists() else [], done.stderr


def test_a_new_mount_follows_the_unmount(tmp_path: Any) -> None:
    status, calls, _ = run_afresh(tmp_path, umount=0, mount=0)
    assert (status, calls) == (0, [f"umount -- {T}", f"mount -t tmpfs -o mode=0700,bad -- tmpfs {T}"])


def test_a_busy_filesystem_is_left_mounted(tmp_path: Any) -> None:
    status, calls, _ = run_afresh(tmp_path, umount=32, mount=0)
    assert (status, calls) == (32, [f"umount -- {T}"])


def test_a_refused_mount_mounts_back_what_was_there_and_fails(tmp_path: Any) -> None:
    status, calls, err = run_afresh(tmp_path, umount=0, mount=32)
    assert status == 32 and calls[-1] == f"mount -t tmpfs -o rw,nosuid,relatime,size=16384k,mode=755 -- tmpfs {T}"
    assert "tmpfs (tmpfs) is mounted on /mnt/t again" in err


def test_a_refused_mount_says_when_nothing_could_be_mounted_back(tmp_path: Any) -> None:
    status, calls, err = run_afresh(tmp_path, umount=0, mount=32, back=("", "", ""))
    assert status == 32 and len(calls) == 2 and "/mnt/t is left unmounted" in err


@pytest.mark.parametrize(("line", "again"), [
    (TMPFS, "rw,nosuid,relatime,size=16384k,mode=755"),
    ("36 35 8:1 / /srv ro,noatime - ext4 /dev/sdb1 ro,errors=remount-ro\n", "ro,noatime,errors=remount-ro"),
    (BIND, None),  # a bind of /srv/a: mountinfo names the device, not the directory
])
def test_what_was_mounted_is_named_again(line: str, again: str | None) -> None:
    seen = mounttab.mounted_at(line, line.split(" ")[4])
    assert seen is not None and mounttab.as_mounted(seen) == again
