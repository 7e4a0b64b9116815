"""Block: observed file text in, the edited content (one Upload) out; the probe runs for real."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest

from configurator.engine.actions import Upload
from configurator.errors import InputError, Location
from configurator.resources import type_named
from configurator.resources.base import decide
from configurator.resources.block import Block
from configurator.resources.schema import build
from configurator.resources.textfile import MAX_SIZE

P = "/etc/hosts"
B, E = "# BEGIN m", "# END m"


def observed(content: bytes | None, mode: str = "644", owner: str = "root", group: str = "root") -> str:
    """What the probe prints for a regular file with `content` (None: missing)."""
    if content is None:
        return "type=absent\n"
    b64 = base64.b64encode(content).decode()
    return f"type=file\nmode={mode}\nowner={owner}\ngroup={group}\nsize={len(content)}\ncontent_b64={b64}\n"


def run_probe(resource: Block) -> str:
    result = subprocess.run(["sh", "-c", resource.probe()], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, check=True)
    return result.stdout


# (arguments, content before, content after or None when already converged, summary)
EDITS = [
    ({"content": "x\ny\n"}, b"a\n", f"a\n{B}\nx\ny\n{E}\n".encode(), "add block 'm' to /etc/hosts"),
    ({"content": "x\ny"}, b"a", f"a\n{B}\nx\ny\n{E}\n".encode(), "add block 'm' to /etc/hosts"),
    ({"content": "x\n"}, b"", f"{B}\nx\n{E}\n".encode(), "add block 'm' to /etc/hosts"),
    ({"content": "x\n"}, f"a\n{B}\nx\n{E}\nb\n".encode(), None, ""),
    ({"content": "x\n"}, f"a\n{B}\nold\nolder\n{E}\nb\n".encode(), f"a\n{B}\nx\n{E}\nb\n".encode(),
     "update block 'm' in /etc/hosts"),
    ({"content": ""}, f"a\n{B}\nold\n{E}\n".encode(), f"a\n{B}\n{E}\n".encode(), "update block 'm' in /etc/hosts"),
    ({"content": "x\n"}, f"{B} \nx\n{E}\n".encode(), f"{B}\nx\n{E}\n".encode(), "update block 'm' in /etc/hosts"),
    ({"content": "x\n", "state": "absent"}, f"a\n{B}\nx\n{E}\nb\n".encode(), b"a\nb\n",
     "remove block 'm' from /etc/hosts"),
    ({"content": "x\n", "state": "absent"}, b"a\n", None, ""),
    ({"content": "x\n"}, b"\xff\n", b"\xff\n" + f"{B}\nx\n{E}\n".encode(), "add block 'm' to /etc/hosts"),
    ({"content": "x\n", "marker": "other"}, f"{B}\nx\n{E}\n".encode(),
     f"{B}\nx\n{E}\n# BEGIN other\nx\n# END other\n".encode(), "add block 'other' to /etc/hosts"),
]


@pytest.mark.parametrize(("args", "before", "after", "summary"), EDITS)
def test_plan_edits_only_the_block(args, before, after, summary):
    step = decide(Block(P, **{"marker": "m", **args}), observed(before, mode="640", owner="root", group="adm"))
    if after is None:
        assert step.status == "ok" and not step.actions
        return
    assert step.status == "change" and step.summary == summary
    (upload,) = step.actions
    assert upload == Upload(P, after, "0640", "root", "adm")
    assert step.diff.startswith(("--- /etc/hosts (host)", "binary content"))


@pytest.mark.parametrize("before", [f"{B}\nx\n".encode(), f"x\n{E}\n".encode(), f"{E}\n{B}\n".encode(),
                                    f"{B}\n{E}\n{B}\n{E}\n".encode()])
def test_unbalanced_markers_are_unknown(before):
    step = decide(Block(P, "x\n", "m"), observed(before))
    assert step.status == "unknown" and "unbalanced or repeated" in step.summary


def test_missing_file_needs_create():
    assert decide(Block(P, "x\n", "m"), "type=absent\n").status == "unknown"
    assert decide(Block(P, "x\n", "m", state="absent"), "type=absent\n").status == "ok"
    step = decide(Block(P, "x\n", "m", create=True), "type=absent\n")
    assert step.kind == "create"
    assert step.actions == (Upload(P, f"{B}\nx\n{E}\n".encode(), "0644", "", ""),)


@pytest.mark.parametrize(("text", "reason"), [
    ("type=link\n", "symlink"), ("type=other\n", "not a regular file"),
    ("type=file\nmode=644\nowner=root\ngroup=root\nsize=9\ntoo_large=1\n", "larger than"),
    ("type=file\nmode=644\nowner=root\ngroup=root\nsize=9\ncontent_b64=eA==\n", "could not be read"),
    ("", "not described"),
])
def test_unreadable_states_are_unknown(text, reason):
    step = decide(Block(P, "x\n", "m"), text)
    assert step.status == "unknown" and reason in step.summary


def test_arguments_are_checked():
    where = Location("role.yml", 3)
    assert type_named("block") is Block
    with pytest.raises(InputError, match="marker must be one non-empty line"):
        build(Block, {"path": P, "marker": "a\nb"}, where, "block")
    with pytest.raises(InputError, match="own marker lines"):
        build(Block, {"path": P, "marker": "m", "content": f"a\n{E}\n"}, where, "block")
    with pytest.raises(InputError, match="absolute path"):
        build(Block, {"path": "etc/hosts"}, where, "block")
    block = build(Block, {"path": P, "content": "a\n", "create": True}, where, "block")
    assert block.id == "block[/etc/hosts: configurator]"


def test_probe_reads_the_real_file(tmp_path: Path):
    path = tmp_path / "hosts"
    block = Block(str(path), "x\n", "m")
    assert run_probe(block).strip() == "type=absent"
    path.write_bytes(f"a\n{B}\nx\n{E}\n".encode())
    os.chmod(path, 0o640)
    seen = run_probe(block)
    assert "type=file" in seen and "mode=640" in seen
    assert decide(block, seen).status == "ok"
    (tmp_path / "link").symlink_to(path)
    link = Block(str(tmp_path / "link"), "x\n", "m")
    assert decide(link, run_probe(Block(str(tmp_path / "link")))).status == "unknown"
    path.write_bytes(b"y" * (MAX_SIZE + 1))
    assert "too_large=1" in run_probe(block)


class FakeFile:
    def __init__(self, content: bytes | None) -> None:
        self.exists = self.is_file = content is not None
        self.content = content or b""


class FakeHost:
    def __init__(self, content: bytes | None) -> None:
        self._file = FakeFile(content)

    def file(self, path: str) -> FakeFile:
        return self._file


def test_checks_read_the_block():
    (check,) = Block(P, "x\n", "m").checks()
    check.test(FakeHost(f"a\n{B}\nx\n{E}\n".encode()))
    with pytest.raises(AssertionError, match="differs"):
        check.test(FakeHost(f"{B}\ny\n{E}\n".encode()))
    with pytest.raises(AssertionError, match="has no block"):
        check.test(FakeHost(b"a\n"))
    (gone,) = Block(P, "x\n", "m", state="absent").checks()
    gone.test(FakeHost(None))
    gone.test(FakeHost(b"a\n"))
    with pytest.raises(AssertionError, match="still has"):
        gone.test(FakeHost(f"{B}\n{E}\n".encode()))
