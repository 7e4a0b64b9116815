"""`configure sandbox down` takes the light hosts with it, and reports what of them is left (no host touched)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import pytest

from configurator.sandbox import SandboxError, lifecycle, light_state
from configurator.sandbox.light_state import LightHost

LIGHT = (LightHost("light1", 1, "198.18.0.160", 22, 0),)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the steps `down` takes instead of taking them."""
    done: list[str] = []
    monkeypatch.setattr(lifecycle, "require_root", lambda: None)
    monkeypatch.setattr(lifecycle.ownership, "machine_lock", nullcontext)
    monkeypatch.setattr(lifecycle.ownership, "refuse_foreign", lambda d: None)
    monkeypatch.setattr(lifecycle.ownership, "release", lambda d: None)
    monkeypatch.setattr(lifecycle, "remove_light", lambda d: done.append("remove light") or LIGHT)
    monkeypatch.setattr(lifecycle.teardown, "observed_plan", lambda s: done.append("plan") or "plan")
    monkeypatch.setattr(lifecycle.teardown, "execute", lambda p: done.append("execute"))
    monkeypatch.setattr(lifecycle.teardown, "leftovers", lambda p: [])
    return done


def test_down_removes_the_light_hosts_before_the_bridge_and_the_full_hosts(tmp_path: Path, calls, monkeypatch):
    monkeypatch.setattr(lifecycle, "light_leftovers", lambda d, hosts: [])
    lifecycle.down(tmp_path)
    assert calls == ["remove light", "plan", "execute"]


def test_down_names_what_of_the_light_hosts_is_left(tmp_path: Path, calls, monkeypatch):
    seen = []
    monkeypatch.setattr(lifecycle, "light_leftovers", lambda d, hosts: seen.append(hosts) or ["link cfgl-0"])
    with pytest.raises(SandboxError, match="link cfgl-0"):
        lifecycle.down(tmp_path)
    assert seen == [LIGHT]


def test_client_files_list_the_light_hosts_after_the_full_ones(tmp_path: Path):
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILqvoW4IRyKKNKB740p1kutFGc9JrqKVGXtVnTj/+6Ne root@light1"
    tree = light_state.seed_tree(tmp_path, "light1") / "etc/ssh"
    tree.mkdir(parents=True)
    (tree / "ssh_host_ed25519_key.pub").write_text(key + "\n")
    light_state.save(tmp_path, LIGHT)
    lifecycle.write_client_files(lifecycle.recorded(tmp_path))
    assert (tmp_path / "known_hosts").read_text() == "light1,198.18.0.160 " + " ".join(key.split()[:2]) + "\n"
    assert "  light1: {address: 198.18.0.160, port: 22}" in (tmp_path / "inventory.yml").read_text().splitlines()
