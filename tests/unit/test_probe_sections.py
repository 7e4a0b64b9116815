"""Probe output is cut at marker lines exactly as the regular expression around the token cut it."""

from __future__ import annotations

import re

import pytest

from configurator.resources.sections import split_marked

MARK = "@@0f3a9c:b2"
TEXTS = [
    "", "no marker at all\n", f"{MARK}:one 0\nfirst\n{MARK}:one 1\nsecond\n",
    f"head\n{MARK}:one 0\n\n{MARK}:one 1\n", f"{MARK}:one 0\nx\n{MARK}:one 12", f"x{MARK}:one 0\ny\n",
    f"{MARK}:one 0\n{MARK}:one x\n{MARK}:one 3\nz", f"{MARK}:one 0\r\nx\n", f"a\n{MARK}\nb\n{MARK}\n",
    f"{MARK}\n{MARK} \n{MARK}x\n", f"{MARK} 0\nentries\n{MARK} 2\n", f"{MARK} \n", f"{MARK}:id a b c\ngroups\n",
    f"{MARK}:candidate nginx\npolicy\n{MARK}:candidate cron\n", f"{MARK}:one 0\n{MARK}:one 0\n",
    f"\n{MARK}:one 0\n\n\n", "@@0f3a9c:b2:one 0\n@@0f3a9c:b20:one 1\nkept\n",
]
# "" last: a marker line that is the prefix alone
PATTERNS = [(":one ", r"(\d+)"), (":candidate ", r"(\S+)"), (" ", r"(\S*)"), (":id ", r"(.*)"), ("", "")]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize(("suffix", "rest"), PATTERNS)
def test_split_marked_cuts_as_re_split_did(text: str, suffix: str, rest: str) -> None:
    prefix = MARK + suffix
    expected = re.split(rf"^{re.escape(prefix)}{rest}\n", text, flags=re.M)
    assert split_marked(text, prefix, re.compile(rest)) == expected


# as the probe script prints them: every marker but the first after a newline of its own (printf '\n@@...')
PROBE_OUTPUTS = [
    "", "@@tok facts\nos=debian\n\n@@tok pending\n\n@@tok b0\nstat\n@@tok 3\nalone\n",
    "noise\n@@tok facts\n\n\n@@tok 0\n", "@@tok 0\nx\n@@tok 1", "@@tok 0\n\n@@tok 1\n\n", "\n@@tok 0\ny\n\n",
    "@@tok 0\n@@tokx 1\n@@tok  2\n@@tok 3\n",
]


@pytest.mark.parametrize("stdout", PROBE_OUTPUTS)
def test_the_probe_sections_are_those_the_regular_expression_found(stdout: str) -> None:
    pieces = re.split(r"(?:^|\n)@@tok (\w+)\n", stdout)
    expected = dict(zip(pieces[1::2], pieces[2::2], strict=True))
    ours = split_marked(stdout, "@@tok ", re.compile(r"(\w+)"))
    bodies = [body.removesuffix("\n") for body in ours[2:-1:2]] + ours[-1:] if len(ours) > 1 else []
    assert dict(zip(ours[1::2], bodies, strict=True)) == expected
