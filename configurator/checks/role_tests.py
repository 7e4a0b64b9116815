"""A role's own testinfra tests (`roles/NAME/tests/test_*.py`), called with the `host` and `role_vars` fixtures.

The modules are compiled once with pytest's assertion rewriting, so a bare `assert status == 200`
fails with `assert 503 == 200`, and then called directly: pytest.main is not safe to run from
several host threads at once (it swaps sys.stdout and global state), while plain function calls are.
"""

from __future__ import annotations

import ast
import inspect
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _pytest.assertion.rewrite import rewrite_asserts

from configurator.errors import InputError, Location

FIXTURES = ("host", "role_vars")


@dataclass(frozen=True)
class RoleTest:
    """One test function of a role: its id (`role/tests/file.py::name`), role and function."""

    id: str
    role: str
    function: Callable[..., Any]

    @property
    def skip_reason(self) -> str | None:
        """The reason of a `@pytest.mark.skip` on the function, if any."""
        for mark in getattr(self.function, "pytestmark", []):
            if getattr(mark, "name", "") == "skip":
                return str(mark.kwargs.get("reason") or (mark.args[0] if mark.args else "skipped"))
        return None

    def call(self, fixtures: dict[str, Any]) -> None:
        """Call the test with the fixtures it asks for; an unknown fixture is an error in the test."""
        wanted = list(inspect.signature(self.function).parameters)
        unknown = [name for name in wanted if name not in fixtures]
        if unknown:
            raise TypeError(f"{self.id} asks for unknown fixture {unknown[0]!r}; available: {', '.join(FIXTURES)}")
        self.function(**{name: fixtures[name] for name in wanted})


_cache: dict[tuple[Path, float], list[RoleTest]] = {}
_lock = threading.Lock()


def discover(role: str, folder: Path) -> list[RoleTest]:
    """The tests of one role, in file and definition order (modules loaded once per process)."""
    tests_dir = folder / "tests"
    found: list[RoleTest] = []
    for path in sorted(tests_dir.glob("test_*.py")) if tests_dir.is_dir() else []:
        key = (path.resolve(), path.stat().st_mtime)
        with _lock:
            if key not in _cache:
                _cache[key] = _load(role, folder, path)
            found += _cache[key]
    return found


def _load(role: str, folder: Path, path: Path) -> list[RoleTest]:
    source = path.read_bytes()
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise InputError(f"role test does not parse: {exc.msg}", Location(str(path), exc.lineno or 0)) from None
    rewrite_asserts(tree, source, str(path), None)
    module = types.ModuleType(f"configurator_role_tests.{role}.{path.stem}")
    module.__file__ = str(path)
    try:
        exec(compile(tree, str(path), "exec"), module.__dict__)  # noqa: S102 - the role's own test code
    except Exception as exc:  # noqa: BLE001 - an import error in a role test is bad input, not a crash
        raise InputError(f"role test cannot be loaded: {type(exc).__name__}: {exc}", Location(str(path))) from None
    prefix = f"{role}/{path.relative_to(folder).as_posix()}"
    return [RoleTest(f"{prefix}::{name}", role, value) for name, value in vars(module).items()
            if name.startswith("test_") and inspect.isfunction(value) and value.__module__ == module.__name__]
