"""The shared read-only bases: one debootstrapped Debian root per release, with fixed tweaks."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import SandboxError
from .layout import MIRROR, PROXY_URL, SECURITY_MIRROR
from .releases import DEFAULT, TWEAKS_VERSIONS, base_dir, parse

STAMP = ".configurator-tweaks"
PACKAGES = "systemd,systemd-sysv,dbus,openssh-server,python3,iproute2,sudo,apt-utils"
MASKED_UNITS = (
    "systemd-udevd.service",
    "systemd-udevd-control.socket",
    "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service",
    "systemd-udev-settle.service",
    "getty@.service",
    "getty@tty1.service",
    "console-getty.service",
    "serial-getty@.service",
    "systemd-networkd-wait-online.service",
    "systemd-timesyncd.service",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "fstrim.timer",
    "systemd-modules-load.service",
    "systemd-pstore.service",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
    "dev-hugepages.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "sys-kernel-config.mount",
    "sys-fs-fuse-connections.mount",
    "systemd-hwdb-update.service",
    "systemd-firstboot.service",
    # each path unit holds an inotify instance (128 per user by default): no console here anyway
    "systemd-ask-password-console.path",
    "systemd-ask-password-wall.path",
)
# Units a release has beyond the shared list (each a mask that bookworm's base never gets).
EXTRA_MASKED: dict[str, tuple[str, ...]] = {}
REMOVED = ("etc/machine-id", "var/lib/dbus/machine-id", "etc/hostname")
# The shared proxy (apt-cacher-ng 3.7) fails some requests when several hosts fetch the same
# index at once: retry them, one request per connection. apt can still hang after such a failure,
# which is why every `apt-get update` configurator runs is bounded (resources/package.py).
APT_PROXY_CONF = """\
Acquire::http::Proxy "{proxy}";
Acquire::Retries "3";
Acquire::http::Pipeline-Depth "0";
Acquire::http::Timeout "30";
"""
SSHD_CONFIG = """\
# configurator sandbox: key-only root login, no DNS lookups, one host key type
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
HostKey /etc/ssh/ssh_host_ed25519_key
"""


def base_files(release: str = DEFAULT) -> dict[str, str]:
    """Return the files (path relative to the root, content) every host of ``release`` starts with."""
    sources = f"deb {MIRROR} {release} main\ndeb {MIRROR} {release}-updates main\n"
    sources += f"deb {SECURITY_MIRROR} {release}-security main\n"
    return {
        "etc/apt/sources.list": sources,
        "etc/apt/apt.conf.d/01configurator-proxy": APT_PROXY_CONF.format(proxy=PROXY_URL),
        "etc/ssh/sshd_config.d/configurator.conf": SSHD_CONFIG,
        "etc/resolv.conf": "# no DNS in the sandbox; apt reaches mirrors through the proxy\n",
    }


def put(root: Path, relative: str, text: str) -> None:
    """Write a file inside a root tree, replacing a symlink instead of following it."""
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()
    target.write_text(text)


def mask(root: Path, unit: str) -> None:
    """Mask a systemd unit inside a root tree."""
    link = root / "etc/systemd/system" / unit
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to("/dev/null")


def masked_units(release: str) -> tuple[str, ...]:
    """Return the units masked in the base of ``release``."""
    return MASKED_UNITS + EXTRA_MASKED.get(release, ())


def apply_tweaks(root: Path, release: str = DEFAULT) -> None:
    """Apply the fixed tweaks of ``release`` to a debootstrapped root (idempotent)."""
    for relative, text in base_files(release).items():
        put(root, relative, text)
    for unit in masked_units(release):
        mask(root, unit)
    for relative in REMOVED:
        (root / relative).unlink(missing_ok=True)
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / STAMP).write_text(TWEAKS_VERSIONS[release] + "\n")


def is_current(root: Path, release: str = DEFAULT) -> bool:
    """Tell whether the base exists with the current tweaks of ``release`` applied."""
    stamp = root / STAMP
    return stamp.exists() and stamp.read_text().strip() == TWEAKS_VERSIONS[release]


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Hold an exclusive lock while the base is built or changed."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.with_name(root.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def debootstrap(target: Path, release: str = DEFAULT) -> None:
    """Build a fresh minimal root of ``release`` in ``target``."""
    shutil.rmtree(target, ignore_errors=True)
    argv = ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", release, str(target)]
    result = subprocess.run([*argv, MIRROR], capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-1:]
        raise SandboxError(f"debootstrap failed: {' '.join(tail) or result.returncode}")


def ensure_base(release: str = DEFAULT, hosts_running: bool = False, root: Path | None = None) -> Path:
    """Build the base of ``release`` once (into a .partial directory, renamed when complete) and tweak it.

    ``hosts_running`` tells whether hosts of this release run on the base now: its tweaks are
    then never changed under them.
    """
    release = parse(release)
    root = base_dir(release) if root is None else root
    with _locked(root):
        if is_current(root, release):
            return root
        if root.exists() and hosts_running:
            raise SandboxError(f"{root} needs new tweaks; run `configure sandbox down` first")
        if not root.exists():
            partial = root.with_name(root.name + ".partial")
            debootstrap(partial, release)
            apply_tweaks(partial, release)
            partial.rename(root)
        apply_tweaks(root, release)
    return root
