"""Shared fixtures of the unit tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def private_dir() -> Iterator[Path]:
    """A temporary directory that only the user running the tests controls, all the way up.

    Step scripts refuse to act in directories that other users can write (such as /tmp), so
    tests that run them locally work below the home directory instead.
    """
    path = Path(tempfile.mkdtemp(prefix=".configurator-test-", dir=Path.home()))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
