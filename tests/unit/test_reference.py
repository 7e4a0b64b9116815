"""docs/resources.md is generated from the resource classes and must not go stale."""

from pathlib import Path

from configurator.resources import all_types, reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "resources.md"


def test_resource_reference_is_current():
    assert DOC.read_text() == reference.render(), "run: python3 -m configurator.resources.reference > docs/resources.md"


def test_every_resource_type_is_documented():
    text = DOC.read_text()
    for name, cls in all_types().items():
        assert f"## `{name}`" in text
        assert cls.__doc__ and cls.__doc__.strip(), f"{name} has no docstring"
