"""Reading a script's output: the end marker across receives, bounded memory, interrupts, leftovers."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from types import SimpleNamespace

import pytest

from configurator.connections import shell, stepend
from configurator.connections import ssh as transport
from configurator.connections.streams import KEEP, Keep, Stream, clip, last_lines
from configurator.errors import HostFailed

TOKEN = "0123456789abcdef"
OUT_MARK = f"\nCFG_END_{TOKEN} ".encode()
ERR_MARK = f"\nCFG_END_{TOKEN}\n".encode()


def stdout_stream(keep: Keep = KEEP) -> Stream:
    return Stream(OUT_MARK, keep, status_line=True)


@pytest.mark.parametrize("split", range(1, len(OUT_MARK) + 3))
def test_the_end_marker_split_across_two_receives_is_found(split):
    data = b"hello\nworld" + OUT_MARK + b"7\n"
    stream = stdout_stream()
    stream.feed(data[:-split])
    assert not stream.done
    stream.feed(data[-split:])
    assert stream.done
    assert (stream.body(), stream.status) == (b"hello\nworld", 7)


def test_output_ending_without_a_newline_keeps_its_last_line():
    stream = stdout_stream()
    for byte in b"no newline at the end" + OUT_MARK + b"0\n":  # one byte per receive
        stream.feed(bytes([byte]))
    assert stream.done and stream.body() == b"no newline at the end" and stream.status == 0


def test_the_status_line_must_be_complete():
    stream = stdout_stream()
    stream.feed(b"x" + OUT_MARK + b"12")
    assert not stream.done
    stream.feed(b"5\n")
    assert stream.done and stream.status == 125


def test_output_up_to_the_bound_is_kept_whole():
    keep = Keep(whole=1000, head=10, tail=100)
    text = bytes(range(256)) * 3  # 768 bytes: under the bound
    stream = stdout_stream(keep)
    for start in range(0, len(text), 7):
        stream.feed(text[start:start + 7])
    stream.feed(OUT_MARK + b"0\n")
    assert stream.body() == text and stream.cut == 0


def test_large_output_keeps_its_head_and_tail_and_says_how_much_was_cut():
    keep = Keep(whole=1 << 20, head=64 << 10, tail=256 << 10)
    stream = stdout_stream(keep)
    chunk = b"y" * 65536
    stream.feed(b"FIRST")
    for _ in range(320):  # 20 MiB
        stream.feed(chunk)
        assert len(stream.head) + len(stream.tail) <= keep.whole
    stream.feed(b"LAST" + OUT_MARK + b"3\n")
    body = stream.body()
    assert body.startswith(b"FIRST") and body.endswith(b"yLAST")
    assert f"[... {stream.cut} bytes cut ...]".encode() in body
    assert len(stream.head) + len(stream.tail) + stream.cut == 5 + 320 * 65536 + 4 + len(OUT_MARK) + 2
    assert stream.status == 3


def test_a_marker_inside_the_output_but_with_another_token_is_not_the_end():
    stream = stdout_stream()
    stream.feed(b"\nCFG_END_ffffffffffffffff 0\n")
    assert not stream.done


def test_clip_cuts_only_long_lines_and_says_how_much():
    assert clip("short\nlines") == "short\nlines"
    assert clip("a" * 12 + "\nok", width=5) == "aaaaa [... 7 characters cut]\nok"
    assert last_lines("one\ntwo\n" + "z" * 2000 + "\n", 2, width=10) == ["two", "z" * 10 + " [... 1990 characters cut]"]
    assert last_lines("  \n", 6) == []


class FakeChannel:
    """Stdout and stderr chunks handed out in the order given, after the script was sent."""

    def __init__(self, chunks: list[tuple[str, bytes]]) -> None:
        self.chunks = chunks
        self.sent = b""
        self.closed = False
        self.token = ""
        self.on_send = lambda: None
        self.status_event = threading.Event()
        self.status_event.set()  # the remote shell has exited once asked to

    def sendall(self, data: bytes) -> None:
        self.sent += data
        self.token = re.findall(rb"CFG_END_([0-9a-f]+)", data)[0].decode()
        self.on_send()

    def _fill(self, data: bytes) -> bytes:
        return data.replace(b"TOKEN", self.token.encode())

    def recv_ready(self) -> bool:
        return bool(self.chunks) and self.chunks[0][0] == "out"

    def recv_stderr_ready(self) -> bool:
        return bool(self.chunks) and self.chunks[0][0] == "err"

    def recv(self, size: int) -> bytes:
        return self._fill(self.chunks.pop(0)[1])

    recv_stderr = recv

    def exit_status_ready(self) -> bool:
        return not self.chunks

    def close(self) -> None:
        self.closed = True

    def shutdown_write(self) -> None:
        pass


def session(chunks: list[tuple[str, bytes]]) -> transport.Session:
    made = object.__new__(transport.Session)
    made.channel = FakeChannel(chunks)  # type: ignore[assignment]
    made.host = SimpleNamespace(ssh=SimpleNamespace(command_timeout=30, lock_wait=0, connect_timeout=5))  # type: ignore[assignment]
    made.client, made.jumps = SimpleNamespace(close=lambda: None), ()  # type: ignore[assignment]
    made.started, made.round_trips, made.become, made.sudo_password = False, 0, False, None
    return made


def test_a_run_reads_both_streams_in_one_round_trip_whatever_the_chunking(monkeypatch):
    monkeypatch.setattr(shell.secrets, "token_hex", lambda size: TOKEN)
    out, err = b"line 1\nline 2" + OUT_MARK + b"4\n", b"warning" + ERR_MARK
    chunks = [("out", out[:9]), ("err", err[:4]), ("out", out[9:30]), ("err", err[4:20]), ("out", out[30:-1]),
              ("err", err[20:]), ("out", out[-1:])]
    one = session(chunks)
    result = one.run("echo hi")
    assert (result.stdout, result.stderr, result.status) == ("line 1\nline 2", "warning", 4)
    assert one.round_trips == 1


def test_the_wrapper_marks_the_script_and_ends_its_leftovers_after_a_timeout():
    one = session([])
    wrapped = one._wrap("sleep 1", TOKEN, "")
    assert f"CFG_STEP={TOKEN}; export CFG_STEP" in wrapped
    assert "case $__rc in 124|137)" in wrapped and f"CFG_STEP={TOKEN} /proc" in wrapped


def test_an_abort_ends_the_running_script_and_fails_the_host(monkeypatch):
    one = session([("err", b"\nCFG_END_TOKEN\n"), ("out", b"\nCFG_END_TOKEN 143\n")])
    ended: list[str] = []
    monkeypatch.setattr(one, "_end_step", ended.append)
    one.abort = threading.Event()
    one.channel.on_send = one.abort.set  # type: ignore[attr-defined]  # Ctrl-C twice while the script runs
    with pytest.raises(HostFailed, match=r"interrupted: the running step was stopped on the host \(exit 143\)"):
        one.run("sleep 60")
    assert ended == [one.channel.token]  # type: ignore[attr-defined]
    with pytest.raises(HostFailed, match="interrupted: nothing further"):
        one.run("true")
    assert one.round_trips == 1


def test_end_script_ends_a_marked_setsid_grandchild_and_spares_the_rest():
    env = {**os.environ, stepend.STEP_MARK: TOKEN}
    marked = subprocess.Popen(["setsid", "sleep", "300"], env=env)
    other = subprocess.Popen(["sleep", "300"])
    try:
        subprocess.run(["sh", "-c", stepend.end_script(TOKEN)], check=True, timeout=30)
        assert marked.wait(timeout=10) == -signal.SIGTERM
        time.sleep(0.1)
        assert other.poll() is None
    finally:
        for proc in (marked, other):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
