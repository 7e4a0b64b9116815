"""Batch planning as data: hosts and their groups' rollout settings in, lanes of batches out."""

from __future__ import annotations

import pytest

from configurator.engine.batches import AT_ONCE, Wait, budget, plan, sizes
from configurator.engine.rollout import describe
from configurator.errors import InputError, Location
from configurator.model.rolling import Percent, Rolling

TEN = [f"h{n}" for n in range(1, 11)]


def layout(hosts, groups_of, rolling):
    """lane -> [batch hosts, ...], as short data to compare."""
    return {lane.group: [list(b.hosts) for b in lane.batches] for lane in plan(hosts, groups_of, rolling)}


@pytest.mark.parametrize(("ramp", "total", "expected"), [
    ((), 4, [4]),
    ((1,), 3, [1, 1, 1]),
    ((2,), 5, [2, 2, 1]),
    ((Percent(30),), 10, [3, 3, 3, 1]),
    ((Percent(10),), 5, [1, 1, 1, 1, 1]),  # a share below one host is one host
    ((Percent(100),), 7, [7]),
    ((1, Percent(10), Percent(50)), 10, [1, 1, 5, 3]),  # the last size repeats
    ((1, Percent(20), Percent(50)), 100, [1, 20, 50, 29]),
    ((5, 1), 3, [3]),
    ((1,), 0, []),
])
def test_sizes_follow_counts_percentages_and_ramps(ramp, total, expected):
    assert sizes(ramp, total) == expected
    assert sum(expected) == total


@pytest.mark.parametrize(("max_fail", "total", "expected"), [(0, 10, 0), (2, 10, 2), (Percent(30), 10, 3),
                                                             (Percent(25), 10, 2), (Percent(0), 10, 0)])
def test_budget_of_a_count_or_a_percentage(max_fail, total, expected):
    assert budget(max_fail, total) == expected


def test_a_percentage_ramp_splits_the_group():
    rolling = {"apps": Rolling(serial=(1, Percent(10), Percent(50)))}
    assert layout(TEN, {h: ("apps",) for h in TEN}, rolling) == {
        "apps": [["h1"], ["h2"], ["h3", "h4", "h5", "h6", "h7"], ["h8", "h9", "h10"]]}


def test_groups_without_serial_start_at_once_and_serial_groups_roll_side_by_side():
    groups_of = {"dns": ("infra",), "a1": ("apps",), "a2": ("apps",), "w1": ("web",), "w2": ("web",), "x": ()}
    rolling = {"infra": Rolling(), "apps": Rolling(serial=1), "web": Rolling(serial=2)}
    lanes = plan(list(groups_of), groups_of, rolling)
    assert {lane.group: [list(b.hosts) for b in lane.batches] for lane in lanes} == {
        AT_ONCE: [["dns", "x"]], "apps": [["a1"], ["a2"]], "web": [["w1", "w2"]]}
    assert all(not b.waits for lane in lanes for b in lane.batches)  # nothing waits for another group


def test_a_host_in_several_groups_follows_the_strictest_and_runs_once():
    groups_of = {"a": ("apps", "web"), "b": ("apps", "web"), "c": ("web",), "d": ("web",), "e": ("web", "plain")}
    rolling = {"apps": Rolling(serial=2), "web": Rolling(serial=1), "plain": Rolling()}
    assert layout(list(groups_of), groups_of, rolling) == {"web": [["a"], ["b"], ["c"], ["d"], ["e"]]}
    rolling = {"apps": Rolling(serial=1), "web": Rolling(serial=Percent(50))}
    # 50% of the three hosts left to web is one host a batch
    assert layout(list(groups_of), groups_of, rolling) == {"apps": [["a"], ["b"]], "web": [["c"], ["d"], ["e"]]}


def test_each_lane_has_its_own_budget_counted_on_its_own_hosts():
    groups_of = {h: ("apps",) for h in TEN} | {"dns": ("infra",)}
    rolling = {"infra": Rolling(), "apps": Rolling(serial=2, max_fail=Percent(20))}
    lanes = {lane.group: lane for lane in plan(["dns", *TEN], groups_of, rolling)}
    assert lanes["apps"].max_fail == 2 and lanes["apps"].hosts == tuple(TEN)
    assert lanes[AT_ONCE].hosts == ("dns",)


def test_after_makes_the_first_batch_wait_for_every_host_of_the_named_groups():
    groups_of = {"dns": ("infra",), "dhcp": ("infra",), "a1": ("apps",), "a2": ("apps",)}
    rolling = {"infra": Rolling(), "apps": Rolling(serial=1, after=("infra",), after_success=True)}
    lanes = {lane.group: lane for lane in plan(list(groups_of), groups_of, rolling)}
    first, second = lanes["apps"].batches
    assert first.waits == (Wait("infra", ("dns", "dhcp"), success=True),)
    assert first.label == "apps 1/2" and second.label == "apps 2/2"
    assert describe(list(lanes.values())) == [
        "at once: dns dhcp",
        "apps 1/2: a1  (after infra: dns dhcp, skipped if one fails)",
        "apps 2/2: a2  (after apps 1/2)",
    ]


def test_a_group_without_serial_but_with_after_is_one_batch_that_waits():
    groups_of = {"dns": ("infra",), "a1": ("apps",), "a2": ("apps",)}
    rolling = {"infra": Rolling(), "apps": Rolling(after=("infra",))}
    lanes = {lane.group: lane for lane in plan(list(groups_of), groups_of, rolling)}
    assert [list(b.hosts) for b in lanes["apps"].batches] == [["a1", "a2"]]
    assert lanes["apps"].batches[0].waits == (Wait("infra", ("dns",)),)


def test_an_after_group_sharing_hosts_waits_only_for_the_others():
    groups_of = {"dns": ("infra",), "both": ("infra", "apps"), "a1": ("apps",)}
    rolling = {"infra": Rolling(), "apps": Rolling(serial=1, after=("infra",))}
    lanes = {lane.group: lane for lane in plan(list(groups_of), groups_of, rolling)}
    assert [list(b.hosts) for b in lanes["apps"].batches] == [["both"], ["a1"]]
    assert lanes["apps"].batches[0].waits == (Wait("infra", ("dns",)),)


def test_hosts_shared_so_that_a_batch_would_wait_for_itself_are_bad_input():
    # b rolls with web (serial 1, the strictest) and, being in apps, waits for infra's c, which rolls after b in web
    groups_of = {"a": ("apps",), "b": ("apps", "web"), "c": ("infra", "web")}
    rolling = {"infra": Rolling(), "apps": Rolling(serial=2, after=("infra",), where=Location("inv.yml", 7)),
               "web": Rolling(serial=1, where=Location("inv.yml", 9))}
    with pytest.raises(InputError, match="would wait for its own hosts") as caught:
        plan(["b", "c", "a"], groups_of, rolling)
    assert str(caught.value.where).startswith("inv.yml:")


def test_a_lane_of_many_batches_plans_without_deep_recursion():
    hosts = [f"h{n}" for n in range(5000)]
    groups_of = {h: ("apps",) for h in hosts} | {"dns": ("infra",)}
    rolling = {"infra": Rolling(), "apps": Rolling(serial=1, after=("infra",))}
    lanes = {lane.group: lane for lane in plan(["dns", *hosts], groups_of, rolling)}
    assert len(lanes["apps"].batches) == 5000
    assert [len(b.waits) for b in lanes["apps"].batches[:3]] == [1, 0, 0]
