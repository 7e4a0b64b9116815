"""The batched package probe measures apt's lists only when a plan may read their age."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from configurator.resources.package import LIST_MAX_AGE, Package, PackageState

MARK = "@@t:b0"
INSTALLED = "a|install ok installed|1.0"
HELD = "a|hold ok installed|1.0"


def probed(tmp_path: Path, packages: list[Package], dpkg_lines: list[str]) -> tuple[str, bool]:
    """The batch's output with a dpkg-query that prints `dpkg_lines`, and whether `date` ran."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    listing = "".join(f"{line}\n" for line in dpkg_lines)
    (tmp_path / "dpkg.out").write_text(listing)
    (bin_dir / "dpkg-query").write_text(f"#!/bin/sh\ncat {tmp_path / 'dpkg.out'}\n")
    (bin_dir / "date").write_text(f"#!/bin/sh\ntouch {tmp_path / 'date.ran'}\nexec /bin/date \"$@\"\n")
    for tool in ("dpkg-query", "date"):
        (bin_dir / tool).chmod(0o755)
    body = Package.batch_probe(packages, MARK)
    done = subprocess.run(["sh", "-c", f"{{ {body}\n}} 2>/dev/null"], capture_output=True, text=True, check=True,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    return done.stdout, (tmp_path / "date.ran").exists()


@pytest.mark.parametrize(("packages", "dpkg_lines", "measured"), [
    ([Package("a")], [INSTALLED], False),
    ([Package("a")], [HELD], False),
    ([Package("a", hold=True)], [INSTALLED], False),
    ([Package("a"), Package("b", state="absent")], [INSTALLED, "b|install ok installed|2"], False),
    ([Package("b", state="purged")], ["b|deinstall ok config-files|2"], False),
    ([Package("a")], [], True),
    ([Package("a")], ["a|deinstall ok config-files|1.0"], True),
    ([Package("a")], ["a|install ok unpacked|1.0"], True),
    ([Package("a")], ["a|install reinstreq installed|1.0"], True),  # python reads it as installed: measured anyway
    ([Package("a")], ["xa|install ok installed|1.0"], True),  # another package whose name ends in a's
    ([Package("a"), Package("c")], [INSTALLED], True),
    ([Package("a:i386")], [INSTALLED], True),  # dpkg prints the name without its architecture
    ([Package("a", version="1.0")], [INSTALLED], True),
    ([Package("a", state="latest")], [INSTALLED], True),
])
def test_the_age_is_measured_only_when_an_install_may_read_it(tmp_path: Path, packages: list[Package],
                                                             dpkg_lines: list[str], measured: bool) -> None:
    out, date_ran = probed(tmp_path, packages, dpkg_lines)
    assert ("lists_age=" in out) == measured == date_ran
    states = Package.batch_parse(packages, out, MARK)
    for package, state in zip(packages, states, strict=True):
        assert isinstance(state, PackageState)
        if not measured:  # then no plan depends on it: fresh and stale lists plan the same step
            stale = dataclasses.replace(state, lists_age=LIST_MAX_AGE + 1)
            assert package.plan(state) == package.plan(stale), package
