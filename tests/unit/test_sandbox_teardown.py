"""What `configure sandbox down` removes: every host, link and generated file, never the caches."""

from pathlib import Path

from configurator.sandbox import SandboxHost, state, teardown
from configurator.sandbox.layout import BASE_DIR, BRIDGE, PROXY_DIR
from configurator.sandbox.process import ProcessRef


def box(directory: Path, count: int = 2) -> state.Sandbox:
    hosts = tuple(
        SandboxHost(
            name=f"node{i}",
            address=f"198.18.0.{10 + i}",
            pid=100 + i,
            veth=f"cfgv-node{i}",
            index=i,
            host_dir=directory / f"hosts/node{i}",
            cgroup=Path(f"/cg/configurator-sandbox/node{i}"),
        )
        for i in range(1, count + 1)
    )
    empty = state.empty(directory)
    return state.Sandbox(
        hosts, directory, empty.key_path, empty.known_hosts, empty.inventory_path, proxy=ProcessRef(55, 66)
    )


def test_plan_removes_every_host_link_cgroup_and_generated_file(tmp_path):
    plan = teardown.plan(box(tmp_path))
    assert [h.name for h in plan.hosts] == ["node1", "node2"]
    assert plan.proxy == ProcessRef(55, 66)
    assert plan.links == ("cfgv-node1", "cfgv-node2", BRIDGE)
    assert plan.cgroups == (Path("/cg/configurator-sandbox/node1"), Path("/cg/configurator-sandbox/node2"))
    assert set(plan.paths) == {
        tmp_path / "hosts",
        tmp_path / "known_hosts",
        tmp_path / "inventory.yml",
        tmp_path / "state.json",
    }
    assert plan.nft_table == "configurator_sandbox"


def test_plan_keeps_the_login_key_and_the_caches(tmp_path):
    plan = teardown.plan(box(tmp_path))
    for kept in (tmp_path / "id_ed25519", tmp_path / "id_ed25519.pub", BASE_DIR, PROXY_DIR):
        assert all(kept != p and kept not in p.parents for p in plan.paths)


def test_plan_adds_stale_leftovers_once(tmp_path):
    stale = Path("/cg/configurator-sandbox/node9")
    plan = teardown.plan(box(tmp_path, 1), ("cfgv-node9", "cfgv-node1"), (stale,))
    assert plan.links == ("cfgv-node1", "cfgv-node9", BRIDGE)
    assert plan.cgroups[-1] == stale


def test_plan_without_recorded_state_still_removes_the_bridge(tmp_path):
    plan = teardown.plan(state.empty(tmp_path))
    assert plan.hosts == () and plan.proxy is None and plan.links == (BRIDGE,)


def test_mounts_below_matches_only_that_tree(tmp_path):
    assert teardown.mounts_below(tmp_path / "nothing-mounted-here") == []
    assert Path("/") in teardown.mounts_below(Path("/"))
