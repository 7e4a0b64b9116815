"""Sandbox capacity: inotify instances counted, and hosts refused that the machine cannot hold."""

import os

import pytest

from configurator.sandbox import SandboxError, SandboxHost
from configurator.sandbox.capacity import MARGIN, PER_HOST, check, open_instances, refusal
from configurator.sandbox.lifecycle import last_index


@pytest.mark.parametrize(
    ("open_now", "limit", "adding"),
    [
        (68, 128, 0),  # nothing to add: never refused, even when little is left
        (68, 128, 13),  # 68 + 52 + 4 = 124
        (68, 128, 14),  # exactly at the limit: 68 + 56 + 4 = 128
        (0, 128, 31),
        (200, 128, 0),  # already over the limit, but nothing is added
        (10, 1024, 100),
    ],
)
def test_hosts_that_fit_are_not_refused(open_now, limit, adding):
    assert refusal(open_now, limit, adding) is None


def test_the_refusal_says_what_and_what_to_do_in_one_line():
    assert refusal(68, 128, 45) == (
        "45 more hosts need about 180 inotify instances on top of the 68 open now, the limit is 128 "
        "(fs.inotify.max_user_instances), room for 14 more: run `sysctl fs.inotify.max_user_instances=256` "
        "as root, or ask for fewer hosts"
    )


@pytest.mark.parametrize(
    ("open_now", "limit", "adding", "needed", "room", "suggested"),
    [
        (69, 128, 14, 56, 13, 256),  # one past the room: 69 + 56 + 4 = 129
        (130, 128, 1, 4, 0, 256),  # already over the limit: no room, never a negative one
        (68, 128, 50, 200, 14, 384),
        (0, 100, 30, 120, 24, 128),
    ],
)
def test_hosts_past_the_limit_are_refused(open_now, limit, adding, needed, room, suggested):
    text = refusal(open_now, limit, adding)
    assert text is not None
    assert text.startswith(f"{adding} more hosts need about {needed} inotify instances on top of the {open_now} ")
    assert f"the limit is {limit} " in text and f"room for {room} more" in text
    assert f"`sysctl fs.inotify.max_user_instances={suggested}` as root" in text


@pytest.mark.parametrize(("open_now", "limit", "adding"), [(69, 128, 14), (0, 128, 32), (500, 600, 40)])
def test_the_suggested_limit_holds_the_hosts_asked_for(open_now, limit, adding):
    text = refusal(open_now, limit, adding)
    assert text is not None and "\n" not in text
    suggested = int(text.split("max_user_instances=")[1].split("`")[0])
    assert refusal(open_now, suggested, adding) is None


def test_margin_and_cost_per_host():
    assert (PER_HOST, MARGIN) == (4, 4)


def fake_proc(root, fds_by_pid):
    """Make /proc/<pid>/fd/<n> links with the given targets."""
    for pid, targets in fds_by_pid.items():
        fd_dir = root / str(pid) / "fd"
        fd_dir.mkdir(parents=True)
        for n, target in enumerate(targets):
            os.symlink(target, fd_dir / str(n))
    return root


def test_open_instances_counts_inotify_links_of_every_process(tmp_path):
    proc = fake_proc(tmp_path, {
        1: ["anon_inode:inotify", "anon_inode:inotify", "/dev/null", "anon_inode:inotify"],
        42: ["anon_inode:inotify", "socket:[123]"],
        7: ["anon_inode:[eventfd]"],
    })
    (proc / "self").mkdir()  # not a pid
    (proc / "99").mkdir()  # a process that exited: no fd directory any more
    assert open_instances(proc, os.getuid()) == 4
    assert open_instances(proc, os.getuid() + 1) == 0  # another user's instances count against their own limit


def test_open_instances_without_proc_is_zero(tmp_path):
    assert open_instances(tmp_path / "missing") == 0


def test_check_reads_the_limit_and_raises_a_sandbox_error(tmp_path, monkeypatch):
    monkeypatch.setattr("configurator.sandbox.capacity.open_instances", lambda: 68)
    limit = tmp_path / "max_user_instances"
    limit.write_text("128\n")
    check(14, limit)
    check(0, limit)
    with pytest.raises(SandboxError, match=r"^15 more hosts need about 60 inotify instances"):
        check(15, limit)


@pytest.mark.parametrize(("hosts", "kept", "expected"), [(3, [], 3), (40, [1, 2, 17], 40), (3, [1, 5], 5)])
def test_up_never_shrinks_the_sandbox(hosts, kept, expected):
    running = [SandboxHost(f"node{i}", "", 0, "", index=i) for i in kept]
    assert last_index(hosts, running) == expected
