"""A remote script's output read in bounded memory, and long lines clipped for people to read.

A stream is kept whole up to a generous bound (a probe's output is parsed, so it must arrive
complete); past that only its first and last bytes are kept, with a note of how much was cut.
The end marker is looked for in the newly received bytes only (plus a marker-length overlap),
so reading costs time in proportion to the output, not to its square.
"""

from __future__ import annotations

from dataclasses import dataclass

LINE = 4000  # characters of one line shown in the console and the reports


@dataclass(frozen=True)
class Keep:
    """How much of a stream is kept: all of it up to `whole` bytes, else the first `head` and last `tail`."""

    whole: int = 8 * 1024 * 1024
    head: int = 64 * 1024
    tail: int = 256 * 1024


KEEP = Keep()


class Stream:
    """One output stream of a script, fed as it arrives, done once its end marker (and line) arrived."""

    def __init__(self, marker: bytes, keep: Keep, status_line: bool = False) -> None:
        self.marker = marker
        self.keep = keep
        self.status_line = status_line  # the marker is followed by the exit status and a newline (stdout)
        self.head, self.tail = bytearray(), bytearray()
        self.cut = 0
        self.carry = b""  # the last bytes before this chunk, in case the marker is split across chunks
        self.after: bytearray | None = None  # what came after the marker, once it was seen

    @property
    def done(self) -> bool:
        return self.after is not None and (not self.status_line or b"\n" in self.after)

    def feed(self, data: bytes) -> None:
        """Keep what the bounds allow of `data` and look for the marker in it."""
        if self.after is not None:
            self.after += data
        else:
            window = self.carry + data
            at = window.find(self.marker)
            if at >= 0:
                self.after = bytearray(window[at + len(self.marker):])
            self.carry = window[-(len(self.marker) - 1):] if len(self.marker) > 1 else b""
        self._store(data)

    def _store(self, data: bytes) -> None:
        room = self.keep.head - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.tail += data
        if len(self.head) + len(self.tail) > self.keep.whole:
            drop = len(self.tail) - self.keep.tail
            del self.tail[:drop]
            self.cut += drop

    def kept(self) -> bytes:
        """Everything kept, with a note where bytes were cut."""
        note = f"\n[... {self.cut} bytes cut ...]\n".encode() if self.cut else b""
        return bytes(self.head) + note + bytes(self.tail)

    def body(self) -> bytes:
        """What the script printed before the end marker (all that was kept, if none came)."""
        kept = self.kept()
        before, found, _ = kept.rpartition(self.marker)
        return before if found else kept

    @property
    def status(self) -> int:
        """The exit status printed after the marker (1 when there is none)."""
        word = bytes(self.after or b"").split(b"\n", 1)[0].strip()
        return int(word) if word.isdigit() else 1


def clip(text: str, width: int = LINE) -> str:
    """`text` with every line longer than `width` characters cut, saying how much was cut."""
    if len(text) <= width:
        return text
    return "\n".join(line if len(line) <= width else f"{line[:width]} [... {len(line) - width} characters cut]"
                     for line in text.split("\n"))


def last_lines(text: str, count: int, width: int = LINE) -> list[str]:
    """The last `count` lines of `text`, each clipped (without splitting all of a large text)."""
    text = text.strip()
    return [clip(line, width) for line in text.rsplit("\n", count)[-count:]] if text else []
