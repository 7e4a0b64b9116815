"""Shard selection as data: stable, disjoint, complete, balanced within each rolling group; bad --shard exits 65."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from configurator.cli import commands as cli
from configurator.engine import shards
from configurator.errors import InputError
from configurator.model import inventory

WEB = [f"web{n}" for n in range(1, 11)]
DB = [f"db{n}" for n in range(1, 4)]
FREE = [f"misc{n}" for n in range(1, 8)]


@pytest.mark.parametrize(("text", "expected"), [("1/1", (1, 1)), ("2/4", (2, 4)), (" 3 / 3 ", (3, 3))])
def test_parse_k_of_n(text, expected):
    shard = shards.parse(text)
    assert (shard.index, shard.count) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("0/3", "K must be between 1 and 3"), ("4/3", "K must be between 1 and 3"), ("1/0", "N must be at least 1"),
    ("2", "is not K/N"), ("a/b", "is not K/N"), ("-1/3", "is not K/N"), ("1/3/5", "is not K/N"), ("", "is not K/N"),
])
def test_bad_shards_are_bad_input(text, message):
    with pytest.raises(InputError, match=message) as raised:
        shards.parse(text)
    assert raised.value.exit_code == 65


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 25])
def test_every_host_lands_in_exactly_one_shard(count):
    groups = {"web": WEB, "db": DB, "": FREE}
    dealt = shards.deal(groups, count)
    assert sorted(dealt) == sorted(WEB + DB + FREE)  # complete; a dict keeps one shard per host: disjoint
    assert set(dealt.values()) <= set(range(1, count + 1))


@pytest.mark.parametrize("count", [2, 3, 4, 7])
def test_each_group_is_spread_evenly_across_the_shards(count):
    dealt = shards.deal({"web": WEB, "db": DB, "": FREE}, count)
    for hosts in (WEB, DB, FREE):
        sizes = Counter(dealt[h] for h in hosts)
        per_shard = [sizes.get(k, 0) for k in range(1, count + 1)]
        assert max(per_shard) - min(per_shard) <= 1, (hosts, per_shard)


def test_the_deal_is_stable_whatever_the_order_of_hosts_and_groups():
    first = shards.deal({"web": WEB, "db": DB}, 3)
    again = shards.deal({"db": list(reversed(DB)), "web": sorted(WEB, reverse=True)}, 3)
    assert first == again


def test_the_deal_is_the_same_in_another_python_process():
    """The ring is SHA-256 of the name, never Python's salted hash(): every shard process agrees."""
    code = ("from configurator.engine import shards\n"
            f"print(sorted(shards.deal({{'web': {WEB!r}}}, 3).items()))")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={"PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert outputs == {f"{sorted(shards.deal({'web': WEB}, 3).items())}\n"}


def test_hosts_are_dealt_in_the_order_of_their_sha256():
    ordered = sorted(WEB, key=lambda h: hashlib.sha256(h.encode()).hexdigest())
    dealt = shards.deal({"web": WEB}, 3)
    start = dealt[ordered[0]]
    assert [dealt[h] for h in ordered] == [(start - 1 + i) % 3 + 1 for i in range(len(ordered))]


INVENTORY = """\
hosts:
{hosts}
groups:
  web: {{hosts: [{web}], serial: 1}}
  db: {{hosts: [{db}], serial: 2}}
  misc: {{hosts: [{free}]}}
"""


def write(tmp_path: Path) -> Path:
    names = WEB + DB + FREE
    hosts = "\n".join(f"  {n}: {{address: 198.18.0.{200 + i}}}" for i, n in enumerate(names))
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY.format(hosts=hosts, web=", ".join(WEB), db=", ".join(DB), free=", ".join(FREE)))
    return path


def test_select_slices_the_targeted_hosts_by_rolling_group(tmp_path):
    inv = inventory.load(write(tmp_path))
    targeted = inv.select("!misc7")
    slices = [shards.select(targeted, inv, f"{k}/3") for k in (1, 2, 3)]
    names = [[h.name for h in s] for s in slices]
    assert sorted(n for s in names for n in s) == sorted(h.name for h in targeted)
    assert [len([n for n in s if n.startswith("web")]) for s in names] in ([4, 3, 3], [3, 4, 3], [3, 3, 4])
    for s, hosts in zip(names, slices, strict=True):
        assert s == [h.name for h in targeted if h in hosts]  # run order kept
    assert shards.select(targeted, inv, None) == targeted


def test_a_bad_shard_on_the_command_line_exits_65_before_any_connection(tmp_path, capsys):
    path = write(tmp_path)
    assert cli.main(["check", str(path), "--shard", "4/3"]) == 65
    assert "--shard: '4/3': K must be between 1 and 3" in capsys.readouterr().err


def test_a_shard_with_no_host_connects_to_none_and_writes_an_empty_report(tmp_path):
    path = tmp_path / "inventory.yml"
    path.write_text("hosts:\n  solo: {address: 198.18.0.250}\ngroups:\n  all: {hosts: [solo]}\n")
    empty = 3 - shards.deal({"": ["solo"]}, 2)["solo"]  # the shard solo is not in
    assert cli.main(["check", str(path), "--shard", f"{empty}/2", "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["hosts"] == []


@pytest.mark.parametrize("command", ["apply", "check", "bootstrap"])
def test_every_command_over_hosts_takes_the_shard(tmp_path, command):
    """`bootstrap` too: a fleet bootstrapped shard by shard gets each host once."""
    path = write(tmp_path)
    inv = inventory.load(path)
    for k in (1, 2, 3):
        args = cli.build_parser(command).parse_args([command, str(path), "--limit", "!misc7", "--shard", f"{k}/3"])
        assert cli.selected(args, inv) == shards.select(inv.select("!misc7"), inv, f"{k}/3")


def test_a_bad_shard_for_bootstrap_exits_65_before_any_connection(tmp_path, capsys):
    assert cli.main(["bootstrap", str(write(tmp_path)), "--shard", "0/3"]) == 65
    assert "--shard: '0/3'" in capsys.readouterr().err


def test_configure_hosts_lists_a_shard_before_any_run(tmp_path, capsys):
    path = write(tmp_path)
    inv = inventory.load(path)
    for k in (1, 2, 3):
        capsys.readouterr()
        assert cli.main(["hosts", str(path), "--shard", f"{k}/3"]) == 0
        listed, _, order = capsys.readouterr().out.partition("\nrollout order:")
        names = [line.split()[0] for line in listed.splitlines() if line.strip()]
        assert names == [h.name for h in shards.select(inv.select(None), inv, f"{k}/3")]
        assert sorted(n for line in order.splitlines() if ":" in line and not line.strip().startswith("max_fail")
                      for n in line.split(":", 1)[1].split("(")[0].split()) == sorted(names)  # the shard's order
    assert cli.main(["hosts", str(path), "--shard", "4/3"]) == 65
