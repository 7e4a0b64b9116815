"""The command line's start-up pauses the cyclic collector only while it loads, never for good."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from configurator import startup


@pytest.fixture
def collector_state():
    running = gc.isenabled()
    yield
    gc.enable() if running else gc.disable()


@pytest.mark.parametrize("running", [True, False])
def test_the_collector_is_paused_in_the_block_and_left_as_it_was(running, collector_state):
    gc.enable() if running else gc.disable()
    with startup.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled() is running


def test_an_error_in_the_block_still_restores_the_collector(collector_state):
    gc.enable()
    with pytest.raises(ValueError), startup.collector_paused():
        raise ValueError("an import failed")
    assert gc.isenabled()


def test_importing_the_command_line_leaves_the_collector_running():
    code = "import gc, configurator.cli; print(gc.isenabled(), gc.get_freeze_count() == 0)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.split() == ["True", "True"]  # a library user's objects are not frozen by an import


def test_a_command_runs_with_the_collector_on_and_its_modules_frozen():
    code = ("import gc, sys\nfrom configurator.cli import main\n"
            "sys.argv = ['configure', 'completion', 'bash']\nmain()\n"
            "print(gc.isenabled(), gc.get_freeze_count() > 10000, file=sys.stderr)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    assert shown.split() == ["True", "True"]
