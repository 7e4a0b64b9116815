"""`vault edit`: the plaintext lives only in a private tmpfs folder, removed whatever happens."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from configurator.errors import ConfigureError

from .cipher import Envelope, encrypt, is_vault, open_vault
from .errors import VaultError
from .files import mode_of, read_file, write_atomic
from .passphrase import ENV_VAR, PassphraseSource

TMPFS = "/dev/shm"
PREFIX = "configurator-vault-"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
log = logging.getLogger(__name__)


@contextlib.contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """SIGTERM/SIGHUP/SIGQUIT end the process through `finally` blocks; SIGINT is left to the editor."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    def ignore(signum: int, frame: FrameType | None) -> None:
        """A handler, not SIG_IGN: the editor must still get its default SIGINT."""

    saved = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    saved[signal.SIGINT] = signal.signal(signal.SIGINT, ignore)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _alive(pid: int) -> bool:
    """Whether a process `pid` exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(root: str) -> None:
    """Remove private folders left in `root` by an edit whose process was killed."""
    for entry in Path(root).glob(PREFIX + "*"):
        pid = entry.name[len(PREFIX):].split("-", 1)[0]
        with contextlib.suppress(OSError):
            if pid.isdigit() and entry.lstat().st_uid == os.getuid() and entry.is_dir() and not _alive(int(pid)):
                shutil.rmtree(entry, ignore_errors=True)


def _tmpfs() -> str:
    """/dev/shm when usable, else the temp dir (on disk: said so in a warning)."""
    if os.path.isdir(TMPFS) and os.access(TMPFS, os.W_OK | os.X_OK):
        return TMPFS
    root = tempfile.gettempdir()
    log.warning("%s is not available: the plaintext is kept in %s while you edit", TMPFS, root)
    return root


@contextlib.contextmanager
def private_dir(root: str | None = None) -> Iterator[Path]:
    """A folder only we can read (0700), on tmpfs when there is one; removed with all it holds (signals wait)."""
    root = root or _tmpfs()
    sweep(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=root))
    try:
        yield folder
    finally:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {*STOP_SIGNALS, signal.SIGINT})
        try:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def run_editor(command: str, path: Path, vault: Path) -> None:
    """Run the editor on `path` (without the passphrase in its environment); a failure leaves the vault as it was."""
    argv = [*(shlex.split(command) or ["vi"]), str(path)]
    environ = {name: value for name, value in os.environ.items() if name != ENV_VAR}
    try:
        status = subprocess.run(argv, check=False, env=environ).returncode
    except FileNotFoundError:
        raise ConfigureError(f"{vault}: editor {argv[0]!r} not found (set EDITOR); the vault is unchanged") from None
    if status != 0:
        raise ConfigureError(f"{vault}: the editor exited with status {status}; the vault is unchanged")


def _current(path: Path, source: PassphraseSource) -> tuple[Envelope | None, bytes]:
    """The vault's parts and plaintext; (None, b"") when it does not exist yet."""
    if not path.exists():
        if not path.parent.is_dir():
            raise VaultError("cannot create the vault: its folder does not exist", path)
        return None, b""
    data = read_file(path)
    if not is_vault(data):
        raise VaultError("not a vault file", path, "encrypt it first with `configure vault encrypt`")
    return open_vault(data, source.get(), str(path), source.origin)


def _edited(before: bytes, editor: str, vault: Path, root: str | None) -> bytes:
    """Write the plaintext to a private file, run the editor on it, read it back; nothing is left behind."""
    with private_dir(root) as folder:
        plain = folder / vault.name
        descriptor = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(before)
        run_editor(editor, plain, vault)
        return plain.read_bytes()


def edit(path: Path, source: PassphraseSource, editor: str | None = None, root: str | None = None) -> bool:
    """Decrypt into a private file, run the editor, re-encrypt if changed; True when the vault was written."""
    path = path.resolve()
    found, before = _current(path, source)
    passphrase = source.get(confirm=found is None)
    with cleanup_on_signals():
        after = _edited(before, editor if editor is not None else os.environ.get("EDITOR", "vi"), path, root)
        if found is not None and after == before:
            return False
        params, salt = (found.params, found.salt) if found else (None, None)
        write_atomic(path, encrypt(after, passphrase, params, salt), mode_of(path, 0o600))
    return True
