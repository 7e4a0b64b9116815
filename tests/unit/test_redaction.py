"""Redaction by value: text, escaped forms, nested data and log records."""

from __future__ import annotations

import io
import json
import logging
import shlex
from typing import Any

import pytest

from configurator.output.redaction import MASK, Redactor, forms, protect_logging, secret_values

M = MASK


@pytest.mark.parametrize("secrets, text, expected", [
    (["hunter2"], "password=hunter2", f"password={M}"),
    (["hunter2"], "hunter2hunter2 and hunter2", f"{M}{M} and {M}"),
    (["alpha-secret", "beta-secret"], "a=alpha-secret b=beta-secret", f"a={M} b={M}"),
    (["pass", "password123"], "password123 pass", f"{M} {M}"),  # the longer one first, no "********word123"
    (["word12", "password123"], "password123 xword12y", f"{M} x{M}y"),
    (["abcdef", "defghijk"], "abcdefghijk!", f"{M}!"),  # partial overlap: both masked as one
    (["abc", "on", ""], "abc on", "abc on"),  # shorter than 4 characters: ignored
    (["    "], "    indented", "    indented"),  # blank: ignored
    ([123456, 3.14159], "port 123456 pi 3.14159", f"port {M} pi {M}"),
    ([True, None, 12], "True None 12", "True None 12"),
    ([b"bytes-secret"], "got bytes-secret", f"got {M}"),
    ([], "nothing to hide", "nothing to hide"),
])
def test_redact_text(secrets: list[object], text: str, expected: str) -> None:
    assert Redactor(secrets).redact(text) == expected


@pytest.mark.parametrize("secret", ['pa"ss\\word', "it's a secret", "tab\there", "naïve-pässword", "new\nline-secret"])
def test_escaped_forms_are_redacted(secret: str) -> None:
    redactor = Redactor([secret])
    for text in (json.dumps({"k": secret}), json.dumps({"k": secret}, ensure_ascii=False), repr(secret),
                 f"echo {shlex.quote(secret)}", f"raw {secret} end"):
        redacted = redactor.redact(text)
        assert MASK in redacted, text
        for piece in (secret, json.dumps(secret)[1:-1]):
            assert piece not in redacted, (text, redacted)


def test_json_report_stays_valid_json() -> None:
    secret = 'q"u\\ote-secret'
    report = json.dumps({"diff": f"+password = {secret}\n", "error": f"exit 1: {secret}"})
    redacted = Redactor([secret]).redact(report)
    assert json.loads(redacted) == {"diff": f"+password = {M}\n", "error": f"exit 1: {M}"}


def test_multi_line_secret_is_masked_inside_a_diff() -> None:
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END KEY-----"
    diff = "\n".join(f"+{line}" for line in key.splitlines())
    redacted = Redactor([key]).redact(diff)
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in redacted and "BKcwggSjAgEAAoIBAQC7" not in redacted


def test_forms_ignore_short_pieces() -> None:
    assert forms("abc") == set()
    assert "abcd" in forms("abcd")
    assert forms("ab\ncdefgh") >= {"ab\ncdefgh", "cdefgh"} and "ab" not in forms("ab\ncdefgh")


def test_walk_nested_data() -> None:
    redactor = Redactor(["s3cret-value", 987654])
    data: dict[str, Any] = {"hosts": [{"host": "web1", "error": "auth s3cret-value failed", "port": 987654, "ok": True,
                       "steps": [{"diff": "-old\n+s3cret-value\n", "n": 3}], "none": None}],
            "s3cret-value": ("tuple s3cret-value",)}
    assert redactor.walk(data) == {
        "hosts": [{"host": "web1", "error": f"auth {M} failed", "port": M, "ok": True,
                   "steps": [{"diff": f"-old\n+{M}\n", "n": 3}], "none": None}],
        M: [f"tuple {M}"]}
    assert data["hosts"][0]["port"] == 987654  # the input is not changed


def test_secret_values_are_the_leaves() -> None:
    data = {"db": {"user": "admin", "password": "pw-1234"}, "keys": ["k1-abcd", {"n": 5}], "flag": True, "x": None}
    assert sorted(secret_values(data)) == ["5", "admin", "k1-abcd", "pw-1234"]


def test_add_later() -> None:
    redactor = Redactor()
    assert not redactor and redactor.redact("late-secret") == "late-secret"
    redactor.add(["late-secret"])
    assert redactor and redactor.redact("late-secret") == M


def test_logging_filter_redacts_message_args_and_exception() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test_redaction.filter")
    logger.propagate = False
    logger.addHandler(handler)
    protect_logging(Redactor(["top-secret"]), logger)
    try:
        logger.warning("connecting with %s", "top-secret")
        try:
            raise ValueError("bad top-secret")
        except ValueError:
            logger.exception("failed for %r", {"pw": "top-secret"})
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "top-secret" not in output
    assert f"WARNING connecting with {M}" in output and f"ValueError: bad {M}" in output
    assert f"failed for {{'pw': '{M}'}}" in output
