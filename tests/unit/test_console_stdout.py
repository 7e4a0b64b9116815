"""The console writes to the stdout of the moment it is made, not to the one of import time (which a
test harness or a caller may have replaced and closed since)."""

from __future__ import annotations

import io
import sys

from configurator.output import report


def test_a_console_writes_to_the_stdout_of_its_making(monkeypatch):
    now = io.StringIO()
    monkeypatch.setattr(sys, "stdout", now)
    report.Console(color=False).write("x\n")
    assert now.getvalue() == "x\n"
