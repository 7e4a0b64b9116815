"""Redaction by value: every known secret is replaced by a mask in text, data and log records.

A secret is masked wherever it appears as is, and in the escaped forms it takes in JSON,
Python reprs and sh quoting. A multi-line secret is also masked line by line (so it is
caught inside a diff). Values shorter than MIN_LENGTH characters (after stripping spaces)
are ignored: masking "on" or "22" would hide most of the output and protect nothing.
Where occurrences overlap, the union of the characters they cover is masked, so a longer
secret is never left half visible by a shorter one.
"""

from __future__ import annotations

import json
import logging
import shlex
import threading
from collections.abc import Iterable, Iterator
from typing import Any

MASK = "********"
MIN_LENGTH = 4


def secret_values(data: Any) -> Iterator[str]:
    """The leaf values of nested mappings and lists, as text (keys are names, not secrets)."""
    if isinstance(data, dict):
        for value in data.values():
            yield from secret_values(value)
    elif isinstance(data, list | tuple | set | frozenset):
        for item in data:
            yield from secret_values(item)
    elif data is not None and not isinstance(data, bool):
        yield as_text(data)


def as_text(value: object) -> str:
    """A value as the text it shows as in output: str() of it, bytes decoded as UTF-8."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def forms(secret: str) -> set[str]:
    """The texts under which `secret` may appear in output: raw, JSON, repr, sh-quoted; per line too."""
    pieces = [secret, *(line for line in secret.splitlines() if line != secret)]
    found: set[str] = set()
    for piece in pieces:
        if len(piece.strip()) < MIN_LENGTH:
            continue
        found |= {piece, json.dumps(piece)[1:-1], json.dumps(piece, ensure_ascii=False)[1:-1],
                  repr(piece)[1:-1], shlex.quote(piece)}
    return {f for f in found if f}


class Redactor:
    """Masks a set of secret values; safe to share between threads; `add` may be called any time."""

    def __init__(self, secrets: Iterable[object] = ()) -> None:
        self._lock = threading.Lock()
        self._texts: frozenset[str] = frozenset()
        self.add(secrets)

    def add(self, secrets: Iterable[object]) -> None:
        """Register more secret values (non-strings by their str(); short ones are ignored)."""
        with self._lock:
            texts = set(self._texts)
            for value in secrets:
                if value is not None and not isinstance(value, bool):
                    texts |= forms(as_text(value))
            self._texts = frozenset(texts)

    def __bool__(self) -> bool:
        return bool(self._texts)

    def holds_secret(self, text: str) -> bool:
        """Whether `text` holds one of the secrets (in any of the forms `redact` masks)."""
        return any(form in text for form in self._texts)

    def redact(self, text: str) -> str:
        """`text` with every occurrence of every secret replaced by MASK."""
        spans = _merged(_occurrences(text, self._texts))
        if not spans:
            return text
        out, position = [], 0
        for start, end in spans:
            out += [text[position:start], MASK]
            position = end
        out.append(text[position:])
        return "".join(out)

    def walk(self, data: Any) -> Any:
        """A copy of nested dicts/lists with every string (keys too) redacted; numbers equal to a secret masked."""
        if isinstance(data, dict):
            return {self.walk(k): self.walk(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.walk(item) for item in data]
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, int | float) and not isinstance(data, bool):
            text = str(data)
            masked = self.redact(text)
            return data if masked == text else masked
        return data

    def filter(self) -> RedactingFilter:
        """A logging filter that uses this redactor."""
        return RedactingFilter(self)


def _occurrences(text: str, texts: frozenset[str]) -> Iterator[tuple[int, int]]:
    """Every (start, end) where one of `texts` occurs, overlapping occurrences included."""
    for form in texts:
        start = text.find(form)
        while start >= 0:
            yield start, start + len(form)
            start = text.find(form, start + 1)


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with overlapping ones joined (so the longest secret wins)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class RedactingFilter(logging.Filter):
    """Redacts a record's message, exception text and stack before any handler formats it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor.redact
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def protect_logging(redactor: Redactor, logger: logging.Logger | None = None) -> RedactingFilter:
    """Add a redacting filter to every handler of `logger` (the root logger by default)."""
    chosen = logger if logger is not None else logging.getLogger()
    found = redactor.filter()
    for handler in chosen.handlers:
        handler.addFilter(found)
    return found
