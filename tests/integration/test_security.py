"""Security on real hosts: host keys, secrets never shown or put on a command line, literal input."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from configurator.vault.cipher import encrypt
from tests.integration.engine_helpers import sh
from tests.integration.faults_helpers import address_of, host_cmdlines, inventory

pytestmark = pytest.mark.integration
PASSPHRASE = "correct horse battery staple"


def run_cli(*argv: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`configure ARGV` as a separate process (all of its output captured)."""
    return subprocess.run([sys.executable, "-m", "configurator.cli", *map(str, argv)], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300, check=False)


@pytest.fixture
def target(sandbox):
    host = sandbox.hosts[11]
    sh(host, "rm -rf /srv/security")
    return host


def secure_inventory(sandbox, target, tmp_path: Path, canary: str) -> Path:
    secret_file = tmp_path / "secrets.vault"
    secret_file.write_bytes(encrypt(yaml.safe_dump({"secret_token": canary}).encode(), PASSPHRASE))
    path = inventory(sandbox, tmp_path / "inv.yml", {target.name: address_of(sandbox, target.name)})
    data = yaml.safe_load(path.read_text())
    data["groups"]["faults"]["roles"] = ["security_demo"]
    data["vars_files"] = [str(secret_file)]
    path.write_text(yaml.safe_dump(data))
    return path


class CmdlineSampler:
    """Samples every process command line on a host while a run goes on."""

    def __init__(self, host) -> None:
        self.host, self.seen, self.stop = host, [], threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            self.seen += host_cmdlines(self.host)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def test_canary_secret_never_appears_in_output_reports_or_target_cmdlines(sandbox, target, tmp_path):
    canary = "CANARY-" + secrets.token_hex(8)
    path = secure_inventory(sandbox, target, tmp_path, canary)
    env = {"CONFIGURE_VAULT_PASSWORD": PASSPHRASE}
    reports = tmp_path / "reports"
    reports.mkdir()
    outputs = []
    with CmdlineSampler(target) as sampler:
        for n, extra in enumerate([["-vv", "--diff"], ["-v"], ["--diff"]]):
            done = run_cli("apply", path, *extra, "--json", reports / f"apply{n}.json",
                           "--junit", reports / f"apply{n}.xml", env=env)
            outputs.append(done.stdout + done.stderr)
            assert done.returncode == 0, done.stdout + done.stderr
    assert sh(target, "cat /srv/security/app.env") == f"TOKEN={canary}\n"  # the real effect happened
    assert sh(target, "cat /srv/security/from-stdin") == canary
    assert sh(target, "stat -c %a /srv/security/app.env") == "600\n"
    sh(target, "echo 'TOKEN=old-value' > /srv/security/app.env")  # drift on a file holding the secret
    for argv in (["check", path, "--diff", "-vv"], ["apply", path, "--diff", "--var", "fail_on_purpose=true"],
                 ["verify", path, "--json", reports / "verify.json", "--junit", reports / "verify.xml"],
                 ["drift", path, "--report", reports / "drift"], ["vars", path, target.name]):
        done = run_cli(*argv, env=env)
        outputs.append(done.stdout + done.stderr)
    failed = outputs[4]
    assert "token is ********" in failed or "********" in failed, failed  # the failing command's stderr, masked
    assert sampler.seen, "the sampler saw no process at all"
    files = [p for p in reports.rglob("*") if p.is_file()]
    assert len(files) >= 8
    leaks = [name for name, text in [*((f"output {i}", o) for i, o in enumerate(outputs)),
                                     *((str(p), p.read_text(errors="replace")) for p in files)] if canary in text]
    assert leaks == []
    assert [line for line in sampler.seen if canary in line] == []


def test_unknown_host_key_is_refused_until_accepted(sandbox, target, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("")
    path = inventory(sandbox, tmp_path / "inv.yml", {target.name: address_of(sandbox, target.name)},
                     known_hosts=str(known))
    done = run_cli("apply", path)
    assert done.returncode == 3
    assert "unknown host key" in done.stdout and "--accept-new" in done.stdout
    assert known.read_text() == ""
    done = run_cli("apply", path, "--accept-new")
    assert done.returncode == 0, done.stdout
    assert target.address in known.read_text()
    assert run_cli("apply", path).returncode == 0  # now known


def test_changed_host_key_is_always_refused(sandbox, target, tmp_path):
    other = sandbox.hosts[10]
    real = Path(sandbox.known_hosts).read_text().splitlines()
    mine = f"{other.name},{other.address} "
    wrong = [line.replace(mine, f"{target.name},{target.address} ", 1) for line in real if line.startswith(mine)]
    assert wrong
    known = tmp_path / "known_hosts"
    known.write_text("\n".join(wrong) + "\n")
    path = inventory(sandbox, tmp_path / "inv.yml", {target.name: address_of(sandbox, target.name)},
                     known_hosts=str(known))
    for extra in ([], ["--accept-new"]):
        done = run_cli("apply", path, *extra)
        assert done.returncode == 3
        assert "CHANGED" in done.stdout
    assert sh(target, "test -e /srv/security || echo untouched") == "untouched\n"


@pytest.mark.parametrize("name, content", [
    ("a file; $(touch pwned) `id` && touch pwned", "x"),
    ("spaces and 'quotes' \"too\"", "{{ not rendered }} $(id) ; rm -rf /"),
    ("ünïcödé-名前", "línea\nnewline inside"),
    ("-leading-dash", "--help"),
])
def test_odd_names_and_values_have_their_literal_effect(sandbox, target, tmp_path, name, content):
    path = inventory(sandbox, tmp_path / "inv.yml", {target.name: address_of(sandbox, target.name)})
    data = yaml.safe_load(path.read_text())
    data["groups"]["faults"]["roles"] = ["security_demo"]
    data["vars"] = {"odd_name": name, "odd_content": content}
    path.write_text(yaml.safe_dump(data))
    sh(target, "rm -rf /srv/security")
    done = run_cli("apply", path)
    assert done.returncode == 0, done.stdout + done.stderr
    listing = run_in_bytes(target, ["cat", f"/srv/security/{name}"])
    assert listing == (content + "\n").encode()
    assert sh(target, "find / -xdev -name pwned 2>/dev/null | head -1") == ""  # nothing was run
    assert run_cli("check", path).returncode == 0  # idempotent with odd names too


def run_in_bytes(host, argv: list[str]) -> bytes:
    from configurator.sandbox import run_in

    return run_in(host, argv, capture_output=True, check=True).stdout


def test_target_text_with_template_syntax_is_kept_literally(sandbox, target, tmp_path):
    path = inventory(sandbox, tmp_path / "inv.yml", {target.name: address_of(sandbox, target.name)})
    data = yaml.safe_load(path.read_text())
    data["groups"]["faults"]["roles"] = ["security_demo"]
    path.write_text(yaml.safe_dump(data))
    sh(target, "mkdir -p /srv/security && "
               "printf '%s\\n' 'x={{ secret_token }}' '{% raw %}' > /srv/security/literal.conf")
    done = run_cli("apply", path, "--diff")
    assert done.returncode == 0, done.stdout + done.stderr
    assert sh(target, "cat /srv/security/literal.conf") == "x={{ secret_token }}\n{% raw %}\nadded=1\n"
    assert "+added=1" in done.stdout and "x={{ secret_token }}" in done.stdout
