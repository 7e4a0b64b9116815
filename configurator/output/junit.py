"""JUnit XML reports: one testsuite per class (a host), one testcase per check."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from configurator.output.report import write_text

Status = Literal["passed", "failed", "error", "skipped"]

# XML 1.0 forbids most control characters; command output (ANSI colours, NULs) must not break CI parsers
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MESSAGE_LIMIT = 240


@dataclass(frozen=True)
class Case:
    """One testcase: its class (the host), name, outcome and the reason when it did not pass."""

    classname: str
    name: str
    status: Status = "passed"
    message: str = ""
    seconds: float = 0.0


def clean(text: str) -> str:
    """Text safe to put in an XML 1.0 document."""
    return _INVALID.sub("?", text)


def headline(text: str) -> str:
    """The first line of a reason, short enough for a `message` attribute."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= MESSAGE_LIMIT else first[: MESSAGE_LIMIT - 3] + "..."


def _case(case: Case) -> ET.Element:
    element = ET.Element("testcase", classname=clean(case.classname), name=clean(case.name),
                         time=f"{case.seconds:.3f}")
    if case.status == "passed":
        return element
    tag = "skipped" if case.status == "skipped" else case.status.replace("failed", "failure")
    child = ET.SubElement(element, tag, message=clean(headline(case.message)))
    if case.status != "skipped":
        child.set("type", "AssertionError" if case.status == "failed" else "Error")
        child.text = clean(case.message)
    return element


def _suite(name: str, cases: Sequence[Case]) -> ET.Element:
    suite = ET.Element("testsuite", name=clean(name), tests=str(len(cases)),
                       failures=str(sum(c.status == "failed" for c in cases)),
                       errors=str(sum(c.status == "error" for c in cases)),
                       skipped=str(sum(c.status == "skipped" for c in cases)),
                       time=f"{sum(c.seconds for c in cases):.3f}")
    suite.extend(_case(c) for c in cases)
    return suite


def render(title: str, cases: Sequence[Case]) -> str:
    """The XML document: cases grouped by class, in order of first appearance."""
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.classname, []).append(case)
    root = ET.Element("testsuites", name=clean(title), tests=str(len(cases)),
                      failures=str(sum(c.status == "failed" for c in cases)),
                      errors=str(sum(c.status == "error" for c in cases)))
    root.extend(_suite(name, group) for name, group in groups.items())
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(path: Path, title: str, cases: Sequence[Case]) -> None:
    """Write the report atomically."""
    write_text(path, render(title, cases))
