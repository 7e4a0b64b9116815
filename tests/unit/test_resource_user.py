"""User and Group: getent/id text in, useradd/usermod/groupadd argv out; probes run for real."""

from __future__ import annotations

import hashlib
import subprocess
from typing import Any

import pytest

from configurator.engine.actions import Run, Upload
from configurator.resources.base import decide
from configurator.resources.group import Group
from configurator.resources.user import User

BOB = "bob:x:1001:1001:Bob:/home/bob:/bin/bash"
KEY = "ssh-ed25519 AAAAC3Nza bob@laptop"
KEY_SHA = hashlib.sha256(f"{KEY}\n".encode()).hexdigest()


def seen(entry: str = BOB, primary: str = "bob", groups: str = "bob sudo", **extra: str) -> str:
    text = f"passwd={entry}\nprimary={primary}\ngroups={groups}\n"
    return text + "".join(f"{key}={value}\n" for key, value in extra.items())


def run_probe(resource: User | Group) -> str:
    result = subprocess.run(["sh", "-c", resource.probe()], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, check=True)
    return result.stdout


def usermod(*options: str) -> Run:
    return Run(("usermod", *options, "--", "bob"))


CONVERGED = [
    User("bob"),
    User("bob", uid=1001, group="bob", groups=("sudo",), shell="/bin/bash", home="/home/bob", comment="Bob"),
    User("bob", group="1001"),
    User("bob", groups=("sudo", "bob")),  # the primary group listed again is not a change
    User("bob", groups=("sudo", "sudo")),
    User("bob", authorized_keys=(KEY,)),
]


@pytest.mark.parametrize("user", CONVERGED)
def test_plan_converged(user: User) -> None:
    keys = {"ssh_dir": "directory 700 bob:bob", "keys": "600 bob:bob", "keys_sha256": KEY_SHA}
    assert decide(user, seen(**keys)).status == "ok"


@pytest.mark.parametrize(("user", "summary", "action"), [
    (User("bob", shell="/bin/sh"), "shell '/bin/bash' -> '/bin/sh'", usermod("--shell", "/bin/sh")),
    (User("bob", uid=2000), "uid '1001' -> '2000'", usermod("--uid", "2000")),
    (User("bob", home="/srv/bob"), "home '/home/bob' -> '/srv/bob'", usermod("--home", "/srv/bob")),
    (User("bob", comment=""), "comment 'Bob' -> ''", usermod("--comment", "")),
    (User("bob", group="users"), "group bob -> users", usermod("--gid", "users")),
    (User("bob", groups=("docker", "sudo")), "groups sudo -> docker,sudo", usermod("--groups", "docker,sudo")),
    (User("bob", groups=()), "groups sudo -> (none)", usermod("--groups", "")),
    (User("bob", groups=("adm",)), "groups sudo -> adm", usermod("--groups", "adm")),
])
def test_plan_modify(user: User, summary: str, action: Run) -> None:
    step = decide(user, seen())
    assert (step.status, step.summary, step.actions) == ("change", f"modify user bob: {summary}", (action,))


def test_plan_modify_several_fields_in_one_usermod() -> None:
    step = decide(User("bob", shell="/bin/sh", groups=()), seen())
    assert step.summary == "modify user bob: shell '/bin/bash' -> '/bin/sh'; groups sudo -> (none)"
    assert step.actions == (usermod("--shell", "/bin/sh", "--groups", ""),)


def test_plan_groups_from_a_user_with_no_supplementary_groups() -> None:
    step = decide(User("bob", groups=("sudo",)), seen(groups="bob"))
    assert step.actions == (usermod("--groups", "sudo"),)


INSTALL_SSH = Run(("install", "-d", "-m", "0700", "-o", "bob", "-g", "bob", "--", "/home/bob/.ssh"),
                  at="/home/bob/.ssh")
UPLOAD_KEYS = Upload("/home/bob/.ssh/authorized_keys", f"{KEY}\n".encode(), "0600", "bob", "bob")


@pytest.mark.parametrize(("keys", "actions"), [
    ({}, (INSTALL_SSH, UPLOAD_KEYS)),
    ({"ssh_dir": "directory 755 bob:bob"}, (INSTALL_SSH, UPLOAD_KEYS)),
    ({"ssh_dir": "directory 700 root:root", "keys": "600 bob:bob", "keys_sha256": KEY_SHA}, (INSTALL_SSH,)),
    ({"ssh_dir": "directory 700 bob:bob", "keys": "600 bob:bob", "keys_sha256": "0" * 64}, (UPLOAD_KEYS,)),
    ({"ssh_dir": "directory 700 bob:bob", "keys": "644 bob:bob", "keys_sha256": KEY_SHA}, (UPLOAD_KEYS,)),
    ({"ssh_dir": "directory 700 bob:bob", "keys": "600 root:bob", "keys_sha256": KEY_SHA}, (UPLOAD_KEYS,)),
])
def test_plan_authorized_keys(keys: dict[str, str], actions: tuple[Any, ...]) -> None:
    step = decide(User("bob", authorized_keys=(KEY,)), seen(**keys))
    assert (step.status, step.actions) == ("change", actions)


def test_plan_authorized_keys_follow_the_wanted_home_and_group() -> None:
    step = decide(User("bob", home="/srv/bob", group="staff", authorized_keys=()), seen())
    assert step.actions == (
        usermod("--gid", "staff", "--home", "/srv/bob"),
        Run(("install", "-d", "-m", "0700", "-o", "bob", "-g", "staff", "--", "/srv/bob/.ssh"), at="/srv/bob/.ssh"),
        Upload("/srv/bob/.ssh/authorized_keys", b"", "0600", "bob", "staff"),
    )


def test_plan_create_minimal_and_full() -> None:
    assert decide(User("bob"), "passwd=absent\n").actions == (
        Run(("useradd", "--create-home", "--", "bob")),)
    full = User("bob", uid=1001, group="staff", groups=("sudo", "adm"), shell="/bin/bash", home="/srv/bob",
                system=True, comment="Bob B", create_home=False, authorized_keys=(KEY,))
    step = decide(full, "passwd=absent\n")
    assert (step.status, step.summary, step.kind) == ("change", "create user bob", "create")
    assert step.actions == (
        Run(("useradd", "--system", "--uid", "1001", "--gid", "staff", "--shell", "/bin/bash",
             "--home-dir", "/srv/bob", "--comment", "Bob B", "--groups", "sudo,adm", "--no-create-home",
             "--", "bob")),
        Run(("install", "-d", "-m", "0700", "-o", "bob", "-g", "staff", "--", "/srv/bob/.ssh"), at="/srv/bob/.ssh"),
        Upload("/srv/bob/.ssh/authorized_keys", f"{KEY}\n".encode(), "0600", "bob", "staff"),
    )


@pytest.mark.parametrize(("observed", "status", "actions"), [
    (seen(), "change", (Run(("userdel", "--", "bob")),)),
    ("passwd=absent\n", "ok", ()),
    ("passwd_error=1\n", "unknown", ()),
])
def test_plan_absent(observed: str, status: str, actions: tuple[Run, ...]) -> None:
    step = decide(User("bob", state="absent"), observed)
    assert (step.status, step.actions) == (status, actions)


@pytest.mark.parametrize(("observed", "message"), [
    ("", "could not be read"),
    ("passwd_error=3\n", "could not be read"),
    ("passwd=bob:x:1\n", "unexpected passwd entry"),
    (seen(keys="link"), "symlink"),
])
def test_plan_unknown(observed: str, message: str) -> None:
    step = decide(User("bob", authorized_keys=(KEY,)), observed)
    assert step.status == "unknown" and message in step.summary


@pytest.mark.parametrize(("user", "problem"), [
    (User("bob smith"), "user name 'bob smith' is not valid"),
    (User("-rf"), "is not valid"),
    (User("1bob"), "is not valid"),
    (User("a" * 33), "is not valid"),
    (User("bob", group="my group"), "group name"),
    (User("bob", groups=("ok", "-x")), "group name '-x'"),
    (User("bob", uid=-1), "uid -1 is out of range"),
    (User("bob", shell="bash"), "shell 'bash' must be an absolute path"),
    (User("bob", home="/home/a:b"), "home"),
    (User("bob", comment="a:b"), "comment"),
    (User("bob", authorized_keys=("a\nb",)), "authorized_keys"),
    (User("bob", authorized_keys=("",)), "authorized_keys"),
    (Group("wheel group"), "group name 'wheel group'"),
    (Group("g", gid=-5), "gid -5"),
])
def test_validate_problems(user: User | Group, problem: str) -> None:
    assert any(problem in p for p in user.validate()), user.validate()


@pytest.mark.parametrize("user", [User("bob"), User("_apt"), User("www-data", group="33"), User("host$"),
                                  User("bob", groups=("sudo",), comment="Bob, room 4"), Group("docker")])
def test_validate_accepts(user: User | Group) -> None:
    assert user.validate() == []


@pytest.mark.parametrize(("group", "observed", "status", "actions"), [
    (Group("web"), "group=web:x:2000:bob\n", "ok", ()),
    (Group("web", gid=2000), "group=web:x:2000:\n", "ok", ()),
    (Group("web", gid=2001), "group=web:x:2000:\n", "change", (Run(("groupmod", "--gid", "2001", "--", "web")),)),
    (Group("web"), "group=absent\n", "change", (Run(("groupadd", "--", "web")),)),
    (Group("web", gid=5, system=True), "group=absent\n", "change",
     (Run(("groupadd", "--system", "--gid", "5", "--", "web")),)),
    (Group("web", state="absent"), "group=web:x:2000:\n", "change", (Run(("groupdel", "--", "web")),)),
    (Group("web", state="absent"), "group=absent\n", "ok", ()),
    (Group("web"), "group_error=1\n", "unknown", ()),
    (Group("web"), "", "unknown", ()),
])
def test_group_plan(group: Group, observed: str, status: str, actions: tuple[Run, ...]) -> None:
    step = decide(group, observed)
    assert (step.status, step.actions) == (status, actions)


@pytest.mark.parametrize("resource", [
    User("bob"), User("bob", state="absent"), User("bob", authorized_keys=()),
    User("bob", home="/a b/'c'", authorized_keys=()), Group("bob"),
])
def test_probe_is_valid_sh(resource: User | Group) -> None:
    subprocess.run(["sh", "-n", "-c", resource.probe()], check=True)


@pytest.mark.parametrize(("resource", "status"), [
    (User("root", uid=0, group="root", home="/root", groups=()), "ok"),
    (User("root", group="0"), "ok"),
    (User("root", uid=1), "change"),
    (User("nobody", state="absent"), "change"),
    (User("no-such-user-cfg"), "change"),
    (User("no-such-user-cfg", state="absent"), "ok"),
    (Group("root", gid=0), "ok"),
    (Group("root", gid=1), "change"),
    (Group("no-such-group-cfg"), "change"),
])
def test_probe_and_plan_agree_on_this_machine(resource: User | Group, status: str) -> None:
    assert decide(resource, run_probe(resource)).status == status


def key_actions(user: User) -> list[str]:
    """The kinds of actions planned for ~/.ssh (root's home is moved to a temp dir here)."""
    actions = decide(user, run_probe(user)).actions
    return [type(a).__name__ if isinstance(a, Upload) else a.argv[0] for a in actions[1:]]


def test_probe_reads_authorized_keys_metadata(tmp_path: Any) -> None:
    ssh = tmp_path / ".ssh"
    ssh.mkdir(mode=0o700)
    (ssh / "authorized_keys").write_text(f"{KEY}\n")
    (ssh / "authorized_keys").chmod(0o600)
    user = User("root", home=str(tmp_path), authorized_keys=(KEY,))
    assert key_actions(user) == []
    assert key_actions(User("root", home=str(tmp_path), authorized_keys=(KEY, "ssh-rsa AAAA x"))) == ["Upload"]
    ssh.chmod(0o755)
    assert key_actions(user) == ["install"]
    (ssh / "authorized_keys").unlink()
    assert key_actions(user) == ["install", "Upload"]
    (ssh / "authorized_keys").symlink_to("/etc/passwd")
    assert decide(user, run_probe(user)).status == "unknown"


def test_checks_on_the_local_host() -> None:
    testinfra = pytest.importorskip("testinfra")
    host = testinfra.get_host("local://")
    User("root", uid=0, group="root", home="/root").checks()[0].test(host)
    User("no-such-user-cfg", state="absent").checks()[0].test(host)
    Group("root", gid=0).checks()[0].test(host)
    with pytest.raises(AssertionError, match="uid is 0, expected 7"):
        User("root", uid=7).checks()[0].test(host)
    with pytest.raises(AssertionError, match="does not exist"):
        User("no-such-user-cfg").checks()[0].test(host)
    with pytest.raises(AssertionError, match="gid is 0, expected 9"):
        Group("root", gid=9).checks()[0].test(host)


# The batched probe's output: `getent passwd -- names...` with its status, then `--rc:groups` and `groups -- names...`.
ALICE = "alice:x:1002:27:Alice:/home/alice:/bin/sh"
BOB_TEXT = f"passwd={BOB}\nprimary=bob\ngroups=bob sudo adm\n"
GROUPS = "--rc:groups\n"
BOB_ID = "bob : bob sudo adm\n"


@pytest.mark.parametrize(("users", "text", "expected"), [
    ([User("bob"), User("alice")], f"{BOB}\n{ALICE}\n--rc 0\n{GROUPS}{BOB_ID}alice : sudo\n",
     [BOB_TEXT, f"passwd={ALICE}\nprimary=sudo\ngroups=sudo\n"]),
    ([User("bob"), User("carl"), User("dan", state="absent")], f"{BOB}\n--rc 2\n{GROUPS}{BOB_ID}",
     [BOB_TEXT, "passwd=absent\n", "passwd=absent\n"]),
    ([User("bob"), User("bob", state="absent")], f"{BOB}\n--rc 0\n{GROUPS}{BOB_ID}", [BOB_TEXT, f"passwd={BOB}\n"]),
    ([User("bob"), User("carl")], f"--rc 1\n{GROUPS}", ["passwd_error=1\n", "passwd_error=1\n"]),
    ([User("bob"), User("carl")], f"{BOB}\n", ["passwd_error=missing\n", "passwd_error=missing\n"]),
    ([User("bob"), User("carl", state="absent")], f"{BOB}\n--rc 2\n",
     ["passwd_error=groups not read\n", "passwd=absent\n"]),
    ([User("erin")], f"erin:x:1003:4242:Erin:/home/erin:/bin/sh\n--rc 0\n{GROUPS}erin : 4242\n",
     ["passwd=erin:x:1003:4242:Erin:/home/erin:/bin/sh\nprimary=4242\ngroups=4242\n"]),  # a gid without a name
    ([User("Bob")], f"{BOB}\n--rc 0\n{GROUPS}Bob : bob sudo adm\n",
     [f"passwd={BOB}\nprimary=bob\ngroups=bob sudo adm\n"]),
    ([User("Bob"), User("carl")], f"{BOB}\n--rc 2\n{GROUPS}Bob : bob\n",
     ["passwd_error=unmatched\n", "passwd_error=unmatched\n"]),  # which name was found is unsure
])
def test_batch_parse(users: list[User], text: str, expected: list[str]) -> None:
    assert User.batch_parse(users, text, "--rc") == [u.parse(e) for u, e in zip(users, expected, strict=True)]


def test_batch_probe_asks_each_name_once_and_groups_only_of_users_that_should_exist() -> None:
    text = User.batch_probe([User("bob"), User("bob", groups=()), User("a b"), User("old", state="absent")], "@@t:b0")
    assert text == ("getent passwd -- bob 'a b' old; echo @@t:b0 $?\n"
                    "echo @@t:b0:groups; groups -- bob 'a b' 2>/dev/null\n")
    assert "groups" not in User.batch_probe([User("bob", state="absent")], "@@t:b0")
    # a user whose keys are managed runs its own probe (in a subshell) inside the batch; the others share one getent
    keyed = User.batch_probe([User("bob", authorized_keys=()), User("eve")], "@@t:b0")
    assert User.batched and keyed.count("getent passwd") == 2 and keyed.count("( ") == 1
    assert "getent passwd -- eve;" in keyed and "id -Gn -- bob" in keyed


@pytest.mark.parametrize(("text", "expected"), [
    ("web:x:2000:bob\n--rc 0\n", ["group=web:x:2000:bob\n", "group=web:x:2000:bob\n", "group=absent\n"]),
    ("--rc 2\n", ["group=absent\n"] * 3),
    ("--rc 3\n", ["group_error=3\n"] * 3),
    ("", ["group_error=missing\n"] * 3),
])
def test_group_batch_parse(text: str, expected: list[str]) -> None:
    groups = [Group("web"), Group("web", gid=2000), Group("db")]
    assert Group.batch_parse(groups, text, "--rc") == [g.parse(e) for g, e in zip(groups, expected, strict=True)]


def local_names(database: str) -> list[str]:
    out = subprocess.run(["getent", database], capture_output=True, text=True, check=True).stdout
    return [line.split(":", 1)[0] for line in out.splitlines()] + [f"no-such-{database}-cfg"]


def test_batched_and_one_by_one_probes_agree_on_this_machine() -> None:
    users = [User(n) for n in local_names("passwd")] + [User("nobody", state="absent")]
    # the status is `id`'s for the last user (1: no such user); the probe script's own is always 0
    batch = subprocess.run(["sh", "-c", User.batch_probe(users, "@@t:b0")], capture_output=True, text=True, check=False)
    assert User.batch_parse(users, batch.stdout, "@@t:b0") == [u.parse(run_probe(u)) for u in users]
    groups = [Group(n) for n in local_names("group")]
    script = Group.batch_probe(groups, "@@t:b0")
    batch = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert Group.batch_parse(groups, batch.stdout, "@@t:b0") == [g.parse(run_probe(g)) for g in groups]
