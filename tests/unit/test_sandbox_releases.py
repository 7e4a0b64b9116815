"""Sandbox releases: names parsed, one cached base per release, which hosts boot which release."""

import argparse
from pathlib import Path

import pytest

from configurator.cli.sandbox import add_parser
from configurator.sandbox import SandboxError, SandboxHost, base, capacity, releases, state
from configurator.sandbox.placement import new_releases, release_for, stale
from configurator.sandbox.status import parse_answer


@pytest.mark.parametrize(
    ("text", "release"), [("bullseye", "bullseye"), ("Trixie", "trixie"), (" bookworm ", "bookworm")])
def test_release_names_are_parsed(text, release):
    assert releases.parse(text) == release


@pytest.mark.parametrize("text", ["buster", "sid", "", "12", "bookworm-backports"])
def test_an_unknown_release_is_refused_naming_the_known_ones(text):
    with pytest.raises(SandboxError, match=r"unknown Debian release .*: choose one of bullseye, bookworm, trixie$"):
        releases.parse(text)


@pytest.mark.parametrize(
    ("text", "pair"), [("node29=bullseye", ("node29", "bullseye")), ("node30 = TRIXIE", ("node30", "trixie"))])
def test_host_release_pairs_are_parsed(text, pair):
    assert releases.parse_host_release(text) == pair


@pytest.mark.parametrize("text", ["node29", "=trixie", "node29=", "node29=buster"])
def test_a_bad_host_release_pair_is_refused(text):
    with pytest.raises(SandboxError):
        releases.parse_host_release(text)


def test_each_release_has_its_own_base_directory_and_cache_key():
    assert releases.base_dir("bookworm") == Path("/var/cache/configurator/base-bookworm")
    assert releases.base_dir("trixie") == Path("/var/cache/configurator/base-trixie")
    assert releases.base_dir("bullseye", Path("/c")) == Path("/c/base-bullseye")
    assert len({releases.cache_key(r) for r in releases.RELEASES}) == 3


def test_the_bookworm_cache_key_is_the_one_its_cached_bases_carry():
    # base-bookworm with tweaks stamp "2": a change here would rebuild the base every sandbox runs on
    assert releases.cache_key("bookworm") == "base-bookworm@2"
    assert releases.DEFAULT == "bookworm"


def test_a_bookworm_base_stamped_before_releases_existed_is_still_current(tmp_path):
    (tmp_path / base.STAMP).write_text("2\n")  # what every cached bookworm base holds
    assert base.is_current(tmp_path, "bookworm")
    assert base.masked_units("bookworm") == base.MASKED_UNITS


@pytest.mark.parametrize("release", releases.RELEASES)
def test_each_base_points_apt_at_its_own_suites(release):
    sources = base.base_files(release)["etc/apt/sources.list"].splitlines()
    assert [line.split()[2] for line in sources] == [release, f"{release}-updates", f"{release}-security"]
    assert [line.split()[1] for line in sources] == ["http://deb.debian.org/debian"] * 2 + [
        "http://deb.debian.org/debian-security"]


def test_the_tweaks_stamp_the_base_with_its_release_version(tmp_path):
    for sub in ("etc/ssh", "etc/systemd/system"):
        (tmp_path / sub).mkdir(parents=True)
    base.apply_tweaks(tmp_path, "trixie")
    assert base.is_current(tmp_path, "trixie")
    for unit in base.masked_units("trixie"):
        assert (tmp_path / "etc/systemd/system" / unit).readlink() == Path("/dev/null")


def host(index: int, release: str = "bookworm") -> SandboxHost:
    return SandboxHost(f"node{index}", "", 1, "", index=index, release=release)


@pytest.mark.parametrize(
    ("name", "asked", "default", "release"),
    [("node29", {"node29": "bullseye"}, None, "bullseye"), ("node1", {"node29": "bullseye"}, None, "bookworm"),
     ("node1", {}, "trixie", "trixie"), ("node29", {"node29": "bullseye"}, "trixie", "bullseye")],
)
def test_a_host_boots_its_named_release_else_the_default_else_bookworm(name, asked, default, release):
    assert release_for(name, asked, default) == release


def test_only_hosts_asked_for_another_release_are_stale():
    live = [host(1), host(2, "trixie"), host(29), host(30, "trixie")]
    # named hosts must match; unnamed ones keep whatever they run when no default is given
    assert stale(live, {"node29": "bullseye", "node30": "trixie"}, None, 44) == [host(29)]
    # a default covers hosts 1..count only: node29 and node30 are past it
    assert stale(live, {}, "bookworm", 3) == [host(2, "trixie")]
    assert stale(live, {}, None, 44) == []


def test_new_hosts_get_their_releases_and_running_ones_are_left_alone():
    assert new_releases({1, 3}, 5, {"node4": "trixie"}, None) == {2: "bookworm", 4: "trixie", 5: "bookworm"}
    assert new_releases(set(), 2, {}, "bullseye") == {1: "bullseye", 2: "bullseye"}


def test_capacity_counts_each_release_at_its_own_cost():
    assert capacity.cost(["bookworm", "bookworm"]) == 2 * capacity.PER_HOST
    assert capacity.cost(["trixie"]) == capacity.PER_RELEASE["trixie"]
    assert set(capacity.PER_RELEASE) == set(releases.RELEASES)


def test_the_refusal_counts_the_instances_of_the_releases_asked_for():
    text = capacity.refusal(120, 128, 4, instances=capacity.cost(["trixie"] * 4))
    assert text is not None and f"4 more hosts need about {capacity.cost(['trixie'] * 4)} inotify" in text


def test_a_host_recorded_before_releases_existed_is_a_bookworm_host(tmp_path):
    text = ('{"format": 1, "proxy": null, "hosts": [{"name": "node1", "address": "198.18.0.11", '
            '"pid": 5, "veth": "cfgv-1", "index": 1, "host_dir": "/h", "cgroup": "/c"}]}')
    (loaded,) = state.loads(text, tmp_path).hosts
    assert loaded.release == "bookworm"
    again = state.loads(state.dumps(state.loads(text, tmp_path)).replace("bookworm", "trixie"), tmp_path)
    assert again.hosts[0].release == "trixie"


@pytest.mark.parametrize(
    ("text", "answer"),
    [("running\ntrixie\n", ("running", "trixie")), ("degraded\nbullseye\n", ("degraded", "bullseye")),
     ("running\n", ("running", "bookworm")), ("", ("unknown", "bookworm"))],
)
def test_status_reads_the_release_the_host_reports(text, answer):
    assert parse_answer(text, "bookworm") == answer


def parse(*argv):
    top = argparse.ArgumentParser(prog="configure")
    add_parser(top.add_subparsers(dest="command"))
    return top.parse_args(["sandbox", "up", *argv])


def test_up_takes_a_release_and_releases_of_named_hosts():
    args = parse("--release", "trixie", "--host-release", "node29=bullseye", "--host-release", "node30=trixie")
    assert args.release == "trixie" and args.host_release == ["node29=bullseye", "node30=trixie"]
    defaults = parse()
    assert defaults.release is None and defaults.host_release == []


def test_up_refuses_an_unknown_release_on_the_command_line(capsys):
    with pytest.raises(SystemExit):
        parse("--release", "buster")
    assert "invalid choice: 'buster'" in capsys.readouterr().err
