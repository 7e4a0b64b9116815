"""Resource plugins: a folder next to the roles and installed entry points; every fault is exit 65 naming the file."""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

from configurator.cli import commands as cli
from configurator.model import inventory as inventory_mod
from configurator.model.catalog import build_catalog
from configurator.model.variables import parse_cli_vars
from configurator.resources import TYPES, plugins, reference
from configurator.resources.base import PlanStatus, Unreadable, decide, read

HOST = "198.18.0.250"  # nothing answers here: a connection attempt would exit 3, not 65
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "env_var.py"
GUIDE = EXAMPLE.parents[1] / "plugins.md"
ROLE = "resources:\n  - env_var: {path: /etc/default/app, name: PORT, value: '8080'}\n"

GOOD = '''from dataclasses import dataclass
from typing import ClassVar

from configurator.resources.base import Resource, ok


@dataclass(frozen=True)
class Thing(Resource[str]):
    """A thing."""

    name: str
    type: ClassVar[str] = "thing"

    @property
    def id(self):
        return f"thing[{self.name}]"

    def probe(self):
        return "true"

    def parse(self, text):
        return text

    def plan(self, observed):
        return ok()

    def checks(self):
        return []

'''


def project(root: Path, files: dict[str, str], role_text: str = "resources: []\n", extra: str = "") -> Path:
    """A project: roles/r, resources/<files> and an inventory that uses both; returns the inventory."""
    (root / "roles" / "r").mkdir(parents=True)
    (root / "roles" / "r" / "role.yml").write_text(role_text)
    (root / "resources").mkdir()
    for name, text in files.items():
        (root / "resources" / name).write_text(text)
    path = root / "inventory.yml"
    path.write_text(f"roles_path: [roles]\nresource_paths: [resources]\n{extra}"
                    f"hosts:\n  web1: {{address: {HOST}}}\ngroups:\n  web: {{hosts: [web1], roles: [r]}}\n")
    return path


def fails(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """`configure check` on `path` exits 65 with one line; that line."""
    code = cli.main(["check", str(path)])
    err = capsys.readouterr().err.strip()
    assert code == 65, err
    assert len(err.splitlines()) == 1, err
    return err


BAD = {
    "syntax error": ("x = 1\ndef broken(:\n", ":2: ", "syntax error"),
    "import error": ("import os\nimport no_such_module_for_plugins\n", ":2: ", "ModuleNotFoundError"),
    "exception at import": ("x = 1\n\nraise RuntimeError('boom')\n", ":3: ", "RuntimeError: boom"),
    "exit at import": ("import sys\nsys.exit(3)\n", ":2: ", "SystemExit"),
    "no RESOURCES": ("x = 1\n", "", "RESOURCES"),
    "not a class": ("RESOURCES = {'thing': 42}\n", "", "must be a class"),
    "bad type name": (GOOD + "RESOURCES = {'Thing-1': Thing}\n", "", "'Thing-1'"),
    "reserved type name": (GOOD.replace('"thing"', '"when"') + "RESOURCES = {'when': Thing}\n", "", "'when'"),
    "not frozen": (GOOD.replace("(frozen=True)", "") + "RESOURCES = {'thing': Thing}\n", ":7: ",
                   "frozen dataclass"),
    "not a dataclass": (GOOD.replace("@dataclass(frozen=True)\n", "") + "RESOURCES = {'thing': Thing}\n", ":7: ",
                        "frozen dataclass"),
    "not a Resource": (GOOD.replace("(Resource[str])", "") + "RESOURCES = {'thing': Thing}\n", ":7: ",
                       "must subclass configurator.resources.base.Resource"),
    "missing plan": (GOOD.replace("def plan(", "def plan_(") + "RESOURCES = {'thing': Thing}\n", ":7: ",
                     "lacks plan (abstract in Resource)"),
    "wrong type": (GOOD + "RESOURCES = {'other': Thing}\n", ":7: ", "type: ClassVar[str] = 'other'"),
    "undefined annotation": (GOOD.replace("name: str", "name: Missing") + "RESOURCES = {'thing': Thing}\n",
                             ":11: ", "NameError: name 'Missing' is not defined"),
    "unresolvable annotation": ("from __future__ import annotations\n" + GOOD.replace("name: str", "name: Missing")
                                + "RESOURCES = {'thing': Thing}\n", ":8: ", "cannot be resolved"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_faulty_plugin_file_exits_65_naming_the_file(name, tmp_path, capsys):
    text, line, message = BAD[name]
    err = fails(project(tmp_path, {"broken.py": text}), capsys)
    assert f"{tmp_path / 'resources' / 'broken.py'}{line}" in err and message in err, err


def test_a_plugin_may_not_shadow_a_built_in_type(tmp_path, capsys):
    text = GOOD.replace('"thing"', '"file"') + "RESOURCES = {'file': Thing}\n"
    err = fails(project(tmp_path, {"mine.py": text}), capsys)
    assert f"{tmp_path / 'resources' / 'mine.py'}:7: " in err and "configurator/resources/file.py" in err, err
    assert TYPES["file"] == "file:File"


def test_two_plugins_of_one_name_are_an_error_naming_both_files(tmp_path, capsys):
    text = GOOD + "RESOURCES = {'thing': Thing}\n"
    err = fails(project(tmp_path, {"a.py": text, "b.py": text}), capsys)
    assert str(tmp_path / "resources" / "a.py") in err and str(tmp_path / "resources" / "b.py") in err, err
    assert "declared twice" in err


def test_a_missing_plugin_folder_is_an_inventory_error(tmp_path, capsys):
    path = project(tmp_path, {})
    (tmp_path / "resources").rmdir()
    err = fails(path, capsys)
    assert "inventory.yml:2: " in err and "resource_paths" in err, err


def test_files_starting_with_underscore_are_not_plugins(tmp_path):
    path = project(tmp_path, {"_helper.py": "raise RuntimeError('not loaded')\n"})
    assert plugins.load(inventory_mod.load(path).resource_paths, points=[]).plugins == {}


def test_the_example_plugin_builds_from_role_yml_and_leaves_the_built_ins_alone(tmp_path):
    path = project(tmp_path, {"env_var.py": EXAMPLE.read_text()}, ROLE)
    inv = inventory_mod.load(path)
    kinds = plugins.load(inv.resource_paths, points=[])
    resource = build_catalog(inv.hosts["web1"], inv, parse_cli_vars([]), kinds=kinds).entries[0].resource
    assert (resource.id, resource.line, type(resource) is kinds.plugins["env_var"]) == (
        "env_var[/etc/default/app: PORT]", "PORT=8080", True)
    assert "env_var" not in TYPES and kinds.origins["env_var"] == str(tmp_path / "resources" / "env_var.py")


def test_a_role_without_the_plugin_folder_does_not_know_the_type(tmp_path, capsys):
    path = project(tmp_path, {}, ROLE)
    err = fails(path, capsys)
    assert "role.yml:2: " in err and "unknown resource type 'env_var'" in err, err


def test_bad_arguments_to_a_plugin_type_are_role_errors(tmp_path, capsys):
    role_text = "resources:\n  - env_var: {path: /etc/default/app, name: 'A B', value: x}\n"
    err = fails(project(tmp_path, {"env_var.py": EXAMPLE.read_text()}, role_text), capsys)
    assert "role.yml:2: " in err and "name 'A B'" in err, err


def installed_package(root: Path, module: str, text: str, entry: str) -> Path:
    """A package visible to importlib.metadata from `root` (a dist-info beside the module), as pip leaves it."""
    (root / f"{module}.py").write_text(text)
    info = root / "plugpkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugpkg\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[configurator.resources]\n{entry}\n")
    return root / f"{module}.py"


@pytest.mark.parametrize("text, entry, line, message", [
    ("import json\nraise ValueError('bad config')\n", "thing = plugmod_a:Thing", ":2: ", "ValueError: bad config"),
    (GOOD + "X = 1\n", "thing = plugmod_b:Nope", "", "plugmod_b:Nope"),
    (GOOD.replace('"thing"', '"package"'), "package = plugmod_c:Thing", ":7: ", "configurator/resources/package.py"),
    (GOOD.replace("def probe", "def probe_"), "thing = plugmod_d:Thing", ":7: ", "lacks probe"),
])
def test_a_faulty_installed_plugin_exits_65_naming_its_file(text, entry, line, message, tmp_path, capsys,
                                                            monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    module = installed_package(site, entry.split("= ")[1].split(":")[0], text, entry)
    monkeypatch.syspath_prepend(str(site))
    path = project(tmp_path, {})
    err = fails(path, capsys)
    assert f"{module}{line}" in err and message in err, err
    assert err.count(str(module)) == 1 or "shadow" in err, err
    assert "lacks" in err or f"entry point {entry} of plugpkg" in err, err


def test_an_installed_plugin_is_found_through_its_entry_point(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    installed_package(site, "plugmod_ok", EXAMPLE.read_text(), "env_var = plugmod_ok:EnvVar")
    monkeypatch.syspath_prepend(str(site))
    path = project(tmp_path, {}, ROLE)
    (tmp_path / "inventory.yml").write_text(path.read_text().replace("resource_paths: [resources]\n", ""))
    inv = inventory_mod.load(path)
    catalog = build_catalog(inv.hosts["web1"], inv, parse_cli_vars([]))
    assert type(catalog.entries[0].resource).__module__ == "plugmod_ok"
    assert importlib.metadata.entry_points(group=plugins.GROUP)["env_var"].dist.name == "plugpkg"
    sys.modules.pop("plugmod_ok", None)


def test_the_reference_documents_a_plugin_type(tmp_path):
    path = project(tmp_path, {"env_var.py": EXAMPLE.read_text()})
    page = reference.render(plugins.load(inventory_mod.load(path).resource_paths, points=[]))
    assert "## `env_var`" in page and "| `value` | `str` | `required` |" in page
    assert "## `env_var`" not in reference.render()


def state(content: str | None, mode: str = "644") -> str:
    """The probe output the example prints for a file holding `content` (None: no file)."""
    import base64
    if content is None:
        return "kind=absent\n"
    return f"mode={mode}\ncontent={base64.b64encode(content.encode()).decode()}\n"


@pytest.mark.parametrize("content, after", [
    (None, "PORT=8080\n"),
    ("A=1\n", "A=1\nPORT=8080\n"),
    ("A=1\nPORT=80\nB=2\nPORT=81\n", "A=1\nPORT=8080\nB=2\n"),
    ("# PORT=1\nPORTS=2\n", "# PORT=1\nPORTS=2\nPORT=8080\n"),
])
def test_the_example_plans_the_file_it_should_leave(content, after, tmp_path):
    kinds = plugins.load([EXAMPLE.parent], points=[])
    var = kinds.named("env_var")(path="/etc/default/app", name="PORT", value="8080")
    step = decide(var, state(content))
    assert step.status == PlanStatus.CHANGE and step.actions[0].content == after.encode()
    assert step.actions[0].mode == "0644"
    assert decide(var, state(after)).status == PlanStatus.OK
    assert decide(var, state(after, "600")).status == PlanStatus.CHANGE
    assert decide(var, "kind=other\n").status == PlanStatus.UNKNOWN
    assert re.search(r"PORT=8080", step.diff)


def test_the_worked_example_in_the_guide_is_the_tested_file():
    assert f"```python\n{EXAMPLE.read_text()}```\n" in GUIDE.read_text()


@pytest.mark.parametrize("text", ["mode=644\ncontent=not base64!\n", "mode=644\ncontent=/w==\n", "garbage\n"])
def test_the_example_reads_garbage_as_unreadable(text):
    var = plugins.load([EXAMPLE.parent], points=[]).named("env_var")(path="/etc/a", name="A", value="1")
    assert isinstance(read(var, text), Unreadable)


def test_the_guide_s_unit_test_snippet_runs(tmp_path, monkeypatch):
    snippet = GUIDE.read_text().split("## Testing a plugin")[1].split("```python\n")[1].split("```")[0]
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "env_var.py").write_text(EXAMPLE.read_text())
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, str(GUIDE), "exec"), {})


def test_the_reserved_names_are_the_catalog_s_meta_keys():
    from configurator.model.catalog import META_KEYS
    assert plugins.RESERVED == META_KEYS


class OtherFinder:
    """A meta path finder that knows distributions importlib.metadata cannot see on sys.path."""

    def find_distributions(self, context: object = None) -> list[object]:
        return []


@pytest.mark.parametrize("layout, finders, expected", [
    ({}, [], False),  # nothing installed
    ({"a-1.0.dist-info/entry_points.txt": "[console_scripts]\na = a:main\n"}, [], False),
    ({"a-1.0.dist-info/METADATA": "Name: a\n"}, [], False),  # a package without entry points
    ({"a-1.0.dist-info/entry_points.txt": "[configurator.resources]\nx = a:X\n"}, [], True),
    ({"a.egg-info/entry_points.txt": "[console_scripts]\n[configurator.resources]\nx = a:X\n"}, [], True),
    ({"a-1.0-py3.11.egg/EGG-INFO/PKG-INFO": "Name: a\n"}, [], True),  # an egg: left to importlib.metadata
    ({}, [OtherFinder()], True),
])
def test_the_quick_look_for_installed_plugins_never_misses_one(layout, finders, expected, tmp_path):
    for name, text in layout.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    paths = [str(tmp_path), str(tmp_path / "no-such-folder")]
    assert plugins._may_declare(paths, [importlib.machinery.PathFinder, *finders]) is expected


def test_a_zip_on_the_path_is_left_to_importlib_metadata(tmp_path):
    archive = tmp_path / "packages.zip"
    archive.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip archive
    assert plugins._may_declare([str(archive)], [importlib.machinery.PathFinder]) is True
