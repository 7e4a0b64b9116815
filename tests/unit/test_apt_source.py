"""apt_source: arguments checked, the deb822 stanza rendered, and probe text in, actions out."""

from __future__ import annotations

import base64
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from configurator.cli import commands as cli
from configurator.engine.actions import Run, Upload
from configurator.model import inventory as inventory_mod
from configurator.model.catalog import build_catalog
from configurator.model.variables import parse_cli_vars
from configurator.resources.apt_lists import MARK_STALE
from configurator.resources.apt_source import KEYRINGS, AptSource
from configurator.resources.base import decide
from tests.unit.test_apt_source_key import DEBIAN_12, DEBIAN_12_FPR, PACKETS

URI = "http://198.18.0.41:8000/"
SOURCE = AptSource("demo", uris=(URI,), suites=("stable",), key=DEBIAN_12, fingerprint=DEBIAN_12_FPR)
SRC = "/etc/apt/sources.list.d/demo.sources"
KEY = "/etc/apt/keyrings/demo.gpg"
STANZA = ("Types: deb\nURIs: http://198.18.0.41:8000/\nSuites: stable\nComponents: main\n"
          "Signed-By: /etc/apt/keyrings/demo.gpg\n")


def seen(sources: bytes | None = STANZA.encode(), key: bytes | None = PACKETS, keyrings: bool = True,
         mode: str = "644", kind: str = "regular file") -> str:
    """What the probe prints: one stat record per existing path, then each regular file in base64."""
    files = [(SRC, "sources", sources), (KEY, "key", key)]
    stats = "".join(f"{kind}|{mode}|root|root|{path}\0" for path, _, data in files if data is not None)
    stats += f"directory|755|root|root|{KEYRINGS}\0" if keyrings else ""
    contents = "".join(f"{label}={base64.b64encode(data).decode()}\n" for _, label, data in files
                       if data is not None and kind == "regular file")
    return f"{stats}\n{contents}"


def upload(path: str, content: bytes) -> Upload:
    return Upload(path, content, mode="0644", owner="root", group="root")


@pytest.mark.parametrize(("source", "stanza"), [
    (SOURCE, STANZA),
    (replace(SOURCE, suites=("./",), components=()),
     f"Types: deb\nURIs: {URI}\nSuites: ./\nSigned-By: {KEY}\n"),
    (replace(SOURCE, types=("deb", "deb-src"), uris=(URI, "https://b.example/x"), suites=("a", "a-updates"),
             components=("main", "contrib"), architectures=("amd64", "arm64")),
     f"Types: deb deb-src\nURIs: {URI} https://b.example/x\nSuites: a a-updates\nComponents: main contrib\n"
     f"Architectures: amd64 arm64\nSigned-By: {KEY}\n"),
])
def test_deb822_stanza(source: AptSource, stanza: str) -> None:
    assert source.render() == stanza and source.validate() == []


@pytest.mark.parametrize(("changes", "problem"), [
    ({"name": "a/b"}, "name 'a/b' must be"),
    ({"uris": ()}, "uris must not be empty"),
    ({"suites": ()}, "suites must not be empty"),
    ({"uris": ("198.18.0.41/x",)}, "is not a URI"),
    ({"uris": ("http://a b",)}, "is not a URI"),
    ({"types": ("rpm",)}, "neither deb nor deb-src"),
    ({"suites": ("./",)}, "flat repository"),
    ({"components": ()}, "components must not be empty"),
    ({"architectures": ("amd64 arm64",)}, "must be one word"),
    ({"key": None}, "give the key inline"),
    ({"content": PACKETS}, "give the key inline"),
    ({"key": "not a key"}, "key: no -----BEGIN"),
    ({"key": DEBIAN_12.replace("=5NZE", "=AAAA")}, "checksum"),
    ({"fingerprint": "4D64"}, "not 40 (or 64) hexadecimal digits"),
    ({"fingerprint": DEBIAN_12_FPR[:-1] + "0"}, f"fingerprint is {DEBIAN_12_FPR}, not the pinned"),
    ({"key": DEBIAN_12 + DEBIAN_12}, f"fingerprint is {DEBIAN_12_FPR}, {DEBIAN_12_FPR}, not the pinned"),
    ({"key": None, "source": "/big.asc"}, "over 1 MiB"),
])
def test_arguments_refused(changes: dict[str, Any], problem: str) -> None:
    problems = replace(SOURCE, **changes).validate()
    assert problems and problem in problems[0], problems


@pytest.mark.parametrize("source", [
    replace(SOURCE, fingerprint=None),
    replace(SOURCE, key=None, content=PACKETS),
    replace(SOURCE, key=None, content=DEBIAN_12.encode()),
    replace(SOURCE, fingerprint="4d64 fec1 19c2 0290 67d6  e791 f8d2 585b 8783 d481"),
    AptSource("demo", state="absent"),
])
def test_arguments_accepted(source: AptSource) -> None:
    assert source.validate() == []


def test_converged() -> None:
    step = decide(SOURCE, seen())
    assert (step.status, step.summary, step.actions) == ("ok", f"demo: {URI}", ())


@pytest.mark.parametrize(("observed", "summary", "actions", "kind"), [
    (seen(None, None), f"add demo ({URI})", (MARK_STALE, upload(KEY, PACKETS), upload(SRC, STANZA.encode())),
     "create"),
    (seen(None, None, keyrings=False), f"add demo ({URI})",
     (MARK_STALE, Run(("mkdir", "-p", "-m", "0755", KEYRINGS), at=KEYRINGS), upload(KEY, PACKETS),
      upload(SRC, STANZA.encode())), "create"),
    (seen(b"Types: deb\n"), "update the source of demo", (MARK_STALE, upload(SRC, STANZA.encode())), "modify"),
    (seen(key=b"old"), "update the key of demo", (MARK_STALE, upload(KEY, PACKETS)), "modify"),
    (seen(key=None), "update the key of demo", (MARK_STALE, upload(KEY, PACKETS)), "modify"),
    (seen(mode="600"), "update the key and source of demo",
     (MARK_STALE, upload(KEY, PACKETS), upload(SRC, STANZA.encode())), "modify"),
])
def test_changes_mark_the_lists_stale_first(observed: str, summary: str, actions: tuple[Any, ...],
                                            kind: str) -> None:
    step = decide(SOURCE, observed)
    assert (step.status, step.summary, step.actions, step.kind) == ("change", summary, actions, kind)


def test_diffs_show_the_stanza_and_the_fingerprints() -> None:
    assert "-Types: deb\n" not in decide(SOURCE, seen(b"Types: deb\n")).diff
    assert f"+URIs: {URI}\n" in decide(SOURCE, seen(b"Types: deb\n")).diff
    assert decide(SOURCE, seen(key=b"old")).diff == f"{KEY}: key (unreadable, 3 bytes) -> {DEBIAN_12_FPR}\n"
    assert decide(SOURCE, seen(key=None)).diff == f"{KEY}: key (none) -> {DEBIAN_12_FPR}\n"
    assert f"{KEY}: mode 600 root:root -> 644 root:root\n" in decide(SOURCE, seen(mode="600")).diff


@pytest.mark.parametrize(("observed", "status", "actions"), [
    (seen(None, None), "ok", ()),
    (seen(), "change", (MARK_STALE, Run(("rm", "-f", "--", SRC), at=SRC), Run(("rm", "-f", "--", KEY), at=KEY))),
    (seen(None), "change", (MARK_STALE, Run(("rm", "-f", "--", KEY), at=KEY))),
    (seen(kind="link"), "change", (MARK_STALE, Run(("rm", "-f", "--", SRC), at=SRC),
                                   Run(("rm", "-f", "--", KEY), at=KEY))),
    (seen(kind="directory"), "unknown", ()),
])
def test_absent(observed: str, status: str, actions: tuple[Run, ...]) -> None:
    step = decide(replace(SOURCE, state="absent"), observed)
    assert (step.status, step.actions) == (status, actions)


@pytest.mark.parametrize("kind", ["link", "directory", "fifo"])
def test_something_else_at_a_path_is_left_alone(kind: str) -> None:
    step = decide(SOURCE, seen(kind=kind))
    assert step.status == "unknown" and f"{SRC} is a {kind}" in step.summary


def test_probe_runs_here_and_reads_an_absent_source() -> None:
    source = replace(SOURCE, name="cfg-unit-test-no-such-source")
    out = subprocess.run(["sh", "-c", source.probe()], capture_output=True, text=True, check=True,
                         stdin=subprocess.DEVNULL).stdout
    state = source.parse(out)
    assert (state.sources.kind, state.key.kind) == ("absent", "absent")
    assert decide(source, out).kind == "create"


def test_garbled_content_is_a_parse_error() -> None:
    with pytest.raises(ValueError):
        SOURCE.parse(seen().replace("sources=", "sources=*"))



def project(top: Path, key_file: bytes, fingerprint: str = DEBIAN_12_FPR) -> Path:
    """An inventory whose one host gets a role with the source, its key in files/demo.asc."""
    role = top / "roles" / "r"
    (role / "files").mkdir(parents=True)
    (role / "files" / "demo.asc").write_bytes(key_file)
    source = {"name": "demo", "uris": [URI], "suites": ["stable"], "src": "demo.asc", "fingerprint": fingerprint}
    (role / "role.yml").write_text(yaml.safe_dump({"resources": [{"apt_source": source}]}))
    inventory = top / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"roles_path": ["roles"], "hosts": {"web1": {"address": "192.0.2.1"}},
                                         "groups": {"g": {"hosts": ["web1"], "roles": ["r"]}}}))
    return inventory


@pytest.mark.parametrize("key_file", [DEBIAN_12.encode(), PACKETS])
def test_a_role_file_reaches_the_key_through_the_catalog(tmp_path: Path, key_file: bytes) -> None:
    inv = inventory_mod.load(project(tmp_path, key_file))
    resource = build_catalog(inv.hosts["web1"], inv, parse_cli_vars([])).entries[0].resource
    assert isinstance(resource, AptSource) and resource.key_bytes == PACKETS


@pytest.mark.parametrize(("key_file", "fingerprint", "message"), [
    (DEBIAN_12.encode(), "0" * 40, f"the key's fingerprint is {DEBIAN_12_FPR}, not the pinned 0000"),
    (b"\x99" + b"x" * (1 << 21), DEBIAN_12_FPR, "over 1 MiB"),
])
def test_a_bad_key_file_is_bad_input_before_any_connection(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           key_file: bytes, fingerprint: str, message: str) -> None:
    code = cli.main(["check", str(project(tmp_path, key_file, fingerprint))])
    err = capsys.readouterr().err
    assert code == 65 and message in err and "role.yml" in err, err
