"""Files holding vault secrets are kept private; odd file names converge in the batched probe (node16)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from configurator.vault.cipher import encrypt
from configurator.vault.passphrase import ENV_VAR
from tests.integration.engine_helpers import changed_steps, configure, sh, write_inventory

pytestmark = pytest.mark.integration

HOST = "node16"
PASSPHRASE = "names and secrets"
SECRET = "Vault-Only-7f3e9a"
WHY = "content holds a vault secret; set `mode` to choose"
SECRET_DIR = "/srv/secretfiles"
ODD_DIR = "/srv/oddnames"
# line separators other than "\n" (str.splitlines splits on them), the old batch separator, a `|`, a prefix
ODD_NAMES = ["a\rb", "c\fd", "e\u2028f", "g\vh", "i\x1cj", "k\x85l", "--sums", "after-sums", "x|y", "pre", "prefix"]


def mode_of(host, path: str) -> str:
    return sh(host, f"stat -c %a -- {shlex.quote(path)}").strip()


def content_of(host, path: str) -> str:
    return sh(host, f"cat -- {shlex.quote(path)}")


@pytest.fixture
def host(sandbox):
    target = sandbox.host(HOST)
    sh(target, f"rm -rf {SECRET_DIR} {ODD_DIR}")
    return target


def secret_inventory(sandbox, tmp_path: Path, monkeypatch) -> Path:
    vault_file = tmp_path / "secrets.vault"
    vault_file.write_bytes(encrypt(yaml.safe_dump({"secret_token": SECRET}).encode(), PASSPHRASE))
    monkeypatch.setenv(ENV_VAR, PASSPHRASE)
    groups = {"demo": {"hosts": [HOST], "roles": ["secret_file_demo"]}}
    return write_inventory(sandbox, tmp_path / "inventory.yml", groups, vars_files=[str(vault_file)])


def test_files_holding_a_vault_secret_without_a_mode_are_0600(sandbox, host, tmp_path, monkeypatch):
    path = secret_inventory(sandbox, tmp_path, monkeypatch)
    sh(host, f"mkdir -p {SECRET_DIR} && printf 'TOKEN=%s\\n' {SECRET} > {SECRET_DIR}/existing.env && "
             f"chmod 0644 {SECRET_DIR}/existing.env")
    code, report = configure("check", path, report=tmp_path / "check.json")
    assert code == 2
    summaries = {s["resource"]: s["summary"] for s in report["hosts"][0]["steps"]}  # type: ignore[index]
    for name in ("app.env", "db.conf"):
        assert f"mode 0600 ({WHY})" in summaries[f"file[{SECRET_DIR}/{name}]"]
    assert f"mode 644 -> 0600 ({WHY})" in summaries[f"file[{SECRET_DIR}/existing.env]"]
    assert WHY not in summaries[f"file[{SECRET_DIR}/chosen.env]"] + summaries[f"file[{SECRET_DIR}/plain.txt]"]
    shown = subprocess.run([sys.executable, "-m", "configurator.cli", "check", str(path)], capture_output=True,
                           text=True, env={**os.environ, "NO_COLOR": "1"}, timeout=120, check=False)
    assert shown.returncode == 2 and WHY in shown.stdout and SECRET not in shown.stdout + shown.stderr
    assert configure("apply", path)[0] == 0
    modes = {name: mode_of(host, f"{SECRET_DIR}/{name}") for name in
             ("app.env", "db.conf", "existing.env", "chosen.env", "plain.txt")}
    assert modes == {"app.env": "600", "db.conf": "600", "existing.env": "600", "chosen.env": "640",
                     "plain.txt": "644"}
    assert SECRET in content_of(host, f"{SECRET_DIR}/db.conf")
    code, report = configure("apply", path, report=tmp_path / "second.json")
    assert code == 0 and changed_steps(report) == {HOST: []}  # type: ignore[arg-type]


def odd_inventory(sandbox, tmp_path: Path, content: str) -> Path:
    group = {"hosts": [HOST], "roles": ["odd_names_demo"], "vars": {"odd_names": ODD_NAMES, "odd_content": content}}
    return write_inventory(sandbox, tmp_path / "inventory.yml", {"odd": group})


def test_odd_names_converge_and_a_stale_file_after_sums_is_fixed(sandbox, host, tmp_path):
    path = odd_inventory(sandbox, tmp_path, "v1")
    code, report = configure("apply", path, report=tmp_path / "first.json")
    assert code == 0, report
    for name in ODD_NAMES:
        assert (content_of(host, f"{ODD_DIR}/{name}"), mode_of(host, f"{ODD_DIR}/{name}")) == ("v1\n", "644"), name
    code, report = configure("apply", path, report=tmp_path / "second.json")
    assert code == 0 and changed_steps(report) == {HOST: []}  # type: ignore[arg-type]
    # the file right after `--sums` goes stale on the host: the check names it (and only it), apply fixes it
    sh(host, f"printf 'stale\\n' > {shlex.quote(ODD_DIR + '/after-sums')}")
    code, report = configure("check", path, report=tmp_path / "check.json")
    assert code == 2 and changed_steps(report) == {HOST: [f"file[{ODD_DIR}/after-sums]"]}  # type: ignore[arg-type]
    step = next(s for s in report["hosts"][0]["steps"] if s["status"] == "pending")  # type: ignore[index]
    assert step["summary"] == f"content of {ODD_DIR}/after-sums changed"
    code, report = configure("apply", path, report=tmp_path / "fix.json")
    assert code == 0 and changed_steps(report) == {HOST: [f"file[{ODD_DIR}/after-sums]"]}  # type: ignore[arg-type]
    assert content_of(host, f"{ODD_DIR}/after-sums") == "v1\n"
    code, report = configure("apply", path, report=tmp_path / "last.json")
    assert code == 0 and changed_steps(report) == {HOST: []}  # type: ignore[arg-type]


def test_a_newline_in_a_path_is_refused_before_any_connection(sandbox, host, tmp_path, capfd):
    path = odd_inventory(sandbox, tmp_path, "v1")
    data = yaml.safe_load(path.read_text())
    data["groups"]["odd"]["vars"]["odd_names"] = ["one\ntwo"]
    path.write_text(yaml.safe_dump(data))
    assert configure("apply", path)[0] == 65
    assert "on one line" in capfd.readouterr().err
    assert sh(host, f"[ -e {ODD_DIR} ] && echo exists || echo absent").strip() == "absent"
