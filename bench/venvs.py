"""bench/.venv: the pinned peers (requirements-peers.txt) and this project, never the system Python.

Standard library only: this runs before the virtualenv exists.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv"
REQUIREMENTS = HERE / "requirements-peers.txt"
STAMP = VENV / ".bench-requirements"


def python() -> Path:
    """The virtualenv's interpreter."""
    return VENV / "bin" / "python"


def tool(name: str) -> str:
    """A console script installed in the virtualenv."""
    return str(VENV / "bin" / name)


def _wanted() -> str:
    text = REQUIREMENTS.read_text(encoding="utf-8") + (ROOT / "setup.cfg").read_text(encoding="utf-8")
    return hashlib.sha256(text.encode()).hexdigest()


def ensure() -> None:
    """Create bench/.venv and install the peers and configurator (editable) when they changed."""
    if not python().exists():
        print(f"bench: creating {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if STAMP.exists() and STAMP.read_text() == _wanted():
        return
    print("bench: installing the pinned peers and configurator into bench/.venv", flush=True)
    pip = [str(python()), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    subprocess.run([*pip, "-e", str(ROOT)], check=True)
    STAMP.write_text(_wanted())


def compile_project() -> None:
    """Byte-compile configurator, as installing it would: an editable install run with
    PYTHONDONTWRITEBYTECODE set would otherwise compile every module again on every run."""
    subprocess.run([str(python()), "-m", "compileall", "-q", str(ROOT / "configurator")], check=True,
                   stdout=subprocess.DEVNULL)


def inside() -> bool:
    """Whether this interpreter is the virtualenv's."""
    return Path(sys.prefix).resolve() == VENV.resolve()


def rerun(script: Path, argv: list[str]) -> int:
    """Run the same script with the virtualenv's interpreter; its exit status."""
    return subprocess.call([str(python()), str(script), *argv])
