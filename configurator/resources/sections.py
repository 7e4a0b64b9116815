"""Probe output cut at the marker lines a probe printed, without a regular expression per run.

A marker holds the run's random token, so a pattern built around it was compiled anew on every host
(six a converged host, ~0.45 ms of its controller CPU). Here the token is found as plain text and
only what follows it on the line is matched, by a pattern compiled once.
"""

from __future__ import annotations

import re

NOTHING = re.compile("")  # a marker line that is the prefix alone


def split_marked(text: str, prefix: str, rest: re.Pattern[str] = NOTHING) -> list[str]:
    """`text` cut at each line that is `prefix` and then what `rest` matches in full (by default nothing more).

    The same list as `re.split(rf"^{re.escape(prefix)}({rest.pattern})\\n", text, flags=re.M)`: the
    text before the first marker, then for each marker its group (if `rest` has one) and the text after
    it up to the next.

        >>> split_marked("a\\n@@t:one 0\\nx\\n@@t:one 1\\ny\\n", "@@t:one ", re.compile(r"(\\d+)"))
        ['a\\n', '0', 'x\\n', '1', 'y\\n']
    """
    pieces: list[str] = []
    start = look = 0
    while (found := text.find(prefix, look)) >= 0:
        end = text.find("\n", found)
        if end < 0:
            break  # a marker line ends with a newline
        match = rest.fullmatch(text, found + len(prefix), end)
        if match is not None and (found == 0 or text[found - 1] == "\n"):
            pieces.append(text[start:found])
            if rest.groups:
                pieces.append(match.group(1))
            start = look = end + 1
        else:
            look = found + 1
    pieces.append(text[start:])
    return pieces
