"""Developer tasks: `invoke test`, `invoke lint`, `invoke sandbox-up`, `invoke bench`, `invoke docs`."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from invoke import Context, task

# The virtualenv scripts/install.sh makes; CONFIGURATOR_VENV moves it, as it does for the script.
VENV = Path(os.environ.get("CONFIGURATOR_VENV", "/opt/configurator/venv"))


def python() -> str:
    """The interpreter that runs the tools, the tests and `configure` here (shell-quoted)."""
    # invoke's own when it runs in a virtualenv (/usr/local/bin/invoke is the venv's); else the
    # script's venv: an invoke found first on PATH (pyenv's, say) may lack the dev extra
    if sys.prefix != sys.base_prefix or not (VENV / "bin" / "python").exists():
        return shlex.quote(sys.executable)
    return shlex.quote(str(VENV / "bin" / "python"))


def configure() -> str:
    """The `configure` command of that interpreter."""
    return f"{python()} -m configurator.cli"


@task
def lint(c: Context) -> None:
    """ruff over the tree, mypy --strict over the package."""
    c.run(f"{python()} -m ruff check .", pty=False)
    c.run(f"{python()} -m mypy", pty=False)


@task
def unit(c: Context) -> None:
    """Unit tests only (no root, no network)."""
    c.run(f"{python()} -m pytest tests/unit -q", pty=False)


# Integration test files that share no sandbox host run side by side (tests/integration/groups.py);
# most of their time is spent waiting on hosts (apt, services, timeouts), not on this machine's CPU
WORKERS = 6


@task(pre=[lint])
def test(c: Context, workers: int = WORKERS) -> None:
    """The whole suite: lint, unit tests and the sandbox's own tests, then the other integration tests in parallel."""
    first = "tests/integration/test_sandbox.py"  # it takes the sandbox down and up: before anything shares it
    pytest = f"{python()} -m pytest -q -p no:cacheprovider"
    codes = [_run(c, f"{pytest} tests/unit {first}", {"CONFIGURE_SANDBOX_KEEP": "1"}),
             _run(c, f"{pytest} tests/integration --ignore={first} -n {workers}", {})]
    if 5 in codes:
        raise SystemExit("no tests were collected")
    if any(codes):
        raise SystemExit(max(codes))


def _run(c: Context, command: str, env: dict[str, str]) -> int:
    result = c.run(command, pty=False, warn=True, env=env)
    return result.exited if result is not None else 1


@task(name="sandbox-up")
def sandbox_up(c: Context, hosts: int = 3) -> None:
    """Boot the sandbox hosts."""
    c.run(f"{configure()} sandbox up --hosts {hosts}", pty=False)


@task(name="sandbox-down")
def sandbox_down(c: Context) -> None:
    """Stop the sandbox hosts and remove their state."""
    c.run(f"{configure()} sandbox down", pty=False)


@task
def bench(c: Context) -> None:
    """The benchmark against pyinfra and Ansible (see bench/README.md)."""
    c.run(f"{python()} bench/run.py", pty=False)


@task
def pictures(c: Context) -> None:
    """Regenerate docs/*.svg from real runs on the sandbox (boots it if needed)."""
    c.run(f"{configure()} sandbox up --hosts 3", pty=False)
    inv, box = "inventories/sandbox.yml", "/var/lib/configurator/sandbox"
    ssh = f"ssh -i {box}/id_ed25519 -o UserKnownHostsFile={box}/known_hosts"
    for address in ("198.18.0.12", "198.18.0.13"):  # a test's demo site would clash with the app's
        c.run(f"{ssh} root@{address} 'rm -f /etc/nginx/sites-enabled/demo'", pty=False, warn=True)
    c.run(f"{configure()} apply {inv}", pty=False, warn=True)
    for address in ("198.18.0.12", "198.18.0.13"):  # the same drift on two hosts: the plan folds it
        c.run(f"{ssh} root@{address} 'systemctl stop nginx'", pty=False, warn=True)
    c.run(f"{configure()} check {inv} --diff --svg docs/check.svg", pty=False, warn=True)
    c.run(f"{configure()} apply {inv} --svg docs/apply.svg", pty=False, warn=True)
    c.run(f"{configure()} apply {inv} --svg docs/converged.svg", pty=False, warn=True)
    # leave no DHCP server answering on the shared test bridge
    c.run(f"{ssh} root@198.18.0.11 'systemctl stop kea-dhcp4-server'", pty=False, warn=True)
