"""The JUnit writer: testcases grouped by host, failures with their message, always valid XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from configurator.output import junit
from configurator.output.junit import Case


def parse(cases: list[Case]) -> ET.Element:
    return ET.fromstring(junit.render("title", cases))


@pytest.mark.parametrize(("status", "tag"), [("failed", "failure"), ("error", "error"), ("skipped", "skipped")])
def test_a_case_that_did_not_pass_carries_its_reason(status, tag):
    root = parse([Case("node9", "service[nginx]", status, "service nginx is not running\nmore detail")])
    case = root.find("testsuite/testcase")
    assert case is not None
    child = case.find(tag)
    assert child is not None
    assert child.get("message") == "service nginx is not running"
    if status != "skipped":
        assert child.text == "service nginx is not running\nmore detail"


def test_a_passed_case_has_no_child():
    case = parse([Case("node9", "ok check")]).find("testsuite/testcase")
    assert case is not None and list(case) == []
    assert (case.get("classname"), case.get("name")) == ("node9", "ok check")


def test_cases_are_grouped_by_class_in_order_of_appearance_with_counts():
    cases = [Case("b", "1", "failed", "x"), Case("a", "2"), Case("b", "3", "error", "y"), Case("a", "4", "skipped")]
    root = parse(cases)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["b", "a"]
    assert [(s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped")) for s in suites] == [
        ("2", "1", "1", "0"), ("2", "0", "0", "1")]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "1")


@pytest.mark.parametrize("text", ["\x1b[31mred\x1b[0m", "nul\x00byte", "<tag> & \"quote\"", "tab\tand\nnewline"])
def test_any_text_gives_a_parsable_document(text):
    root = parse([Case(text, text, "failed", text)])
    case = root.find("testsuite/testcase")
    assert case is not None and case.find("failure") is not None


@pytest.mark.parametrize(("text", "expected"), [
    ("", ""),
    ("  one line  ", "one line"),
    ("first\nsecond", "first"),
    ("x" * 300, "x" * 237 + "..."),
])
def test_headline(text, expected):
    assert junit.headline(text) == expected


def test_write_is_atomic_and_complete(tmp_path):
    path = tmp_path / "report.xml"
    junit.write(path, "t", [Case("h", "c")])
    assert ET.parse(path).getroot().tag == "testsuites"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xml"]
