"""Sandbox state file: round trip and where it lives."""

from pathlib import Path

import pytest

from configurator.sandbox import Sandbox, SandboxError, SandboxHost, state
from configurator.sandbox.layout import DEFAULT_STATE_DIR, state_dir
from configurator.sandbox.process import ProcessRef


def sample(directory: Path) -> Sandbox:
    host = SandboxHost(
        name="node1",
        address="198.18.0.11",
        pid=4242,
        veth="cfgv-node1",
        index=1,
        pid_start=99,
        launcher_pid=4241,
        launcher_start=98,
        host_dir=directory / "hosts/node1",
        cgroup=Path("/sys/fs/cgroup/configurator-sandbox/node1"),
    )
    return state.Sandbox(
        hosts=(host,),
        state_dir=directory,
        key_path=directory / "id_ed25519",
        known_hosts=directory / "known_hosts",
        inventory_path=directory / "inventory.yml",
        proxy=ProcessRef(7, 8),
    )


def test_round_trip_through_json(tmp_path):
    box = sample(tmp_path)
    assert state.loads(state.dumps(box), tmp_path) == box


def test_save_then_load(tmp_path):
    box = sample(tmp_path)
    state.save(box)
    assert state.load(tmp_path) == box
    assert (tmp_path / "state.json").stat().st_mode & 0o777 == 0o644


def test_missing_state_is_none(tmp_path):
    assert state.load(tmp_path) is None


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(SandboxError, match="format"):
        state.loads('{"format": 99, "hosts": []}', tmp_path)


def test_host_records_init_and_launcher():
    host = sample(Path("/x")).hosts[0]
    assert host.init == ProcessRef(4242, 99) and host.launcher == ProcessRef(4241, 98)


def test_state_dir_argument_then_environment_then_default(monkeypatch, tmp_path):
    monkeypatch.delenv("CONFIGURE_SANDBOX_DIR", raising=False)
    assert state_dir() == DEFAULT_STATE_DIR
    monkeypatch.setenv("CONFIGURE_SANDBOX_DIR", str(tmp_path))
    assert state_dir() == tmp_path
    assert state_dir(tmp_path / "x") == tmp_path / "x"
