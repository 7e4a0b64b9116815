"""First contact with a fresh host: log in as it lets us (a password, or a cloud user's key and sudo),
create the admins the inventory declares with the base role's own resources, prove that key login as
an admin works on a new connection, and only then, when asked, switch password login off.

Nothing here copies the base role: its catalog is built as for `configure apply`, and only the
resources declared over `base_admins` (and the sudo package they need), or those of its sshd
drop-in, are kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from configurator.connections import ssh
from configurator.engine import converge
from configurator.engine.status import HostStatus, StepStatus
from configurator.errors import ConfigureError, HostFailed, InputError, Location, Unreachable
from configurator.model.catalog import Catalog, Entry
from configurator.model.inventory import Host
from configurator.model.roles import Role
from configurator.model.variables import Layer, Sourced

ADMINS = "base_admins"
NO_PASSWORD = {"base_sshd_password_authentication": False, "base_sshd_kbd_interactive_authentication": False}
Build = Callable[[Host, Layer], Catalog]  # a host's catalog with extra --var values (the CLI's build_catalog)


@dataclass(frozen=True)
class Request:
    """How to make first contact, from the command line."""

    password: str | None = None  # log in with this password (no key); None: with a key
    user: str | None = None  # log in as this user instead of the host's configured one
    sudo_password: str | None = None
    accept_new: bool = False
    wait: float = 0.0
    disable_password: bool = False


@dataclass(frozen=True)
class Parts:
    """The two pieces of the base role that bootstrap runs on one host."""

    admins: Catalog
    sshd: Catalog | None  # only with --disable-password-login
    admin: str  # who logs in with a key afterwards


@dataclass
class Report:
    """What first contact did on one host."""

    host: str
    status: HostStatus = HostStatus.OK
    host_key: str = ""
    admin: str = ""
    changed: list[str] = field(default_factory=list)
    key_login: bool = False
    password_login_disabled: bool = False
    error: str = ""
    consequence: bool = False  # as exitcodes reads a host's outcome: never skipped for another host


def parts(host: Host, build: Build, cli_vars: Layer, request: Request) -> Parts:
    """The admin resources (and the sshd drop-in, when asked) of the base role for `host`; bad input raises."""
    forced = Layer(cli_vars.level, {**cli_vars.values, **_no_password()}) if request.disable_password else cli_vars
    full = build(dataclasses.replace(host, roles=("base",)), forced)
    base = next(r for r in full.roles if r.name == "base")
    admins = _admin_names(full, host.where)
    admin = host.ssh.user if host.ssh.user in admins else admins[0]
    sshd = None
    if request.disable_password:
        sshd = _only(full, base, _is_sshd)
        if not sshd.entries:
            raise InputError(f"host {host.name}: base_sshd_harden is off, so bootstrap cannot switch password "
                             "login off", host.where)
    return Parts(_only(full, base, _is_admin), sshd, admin)


def _no_password() -> dict[str, Sourced]:
    at = Location("--disable-password-login")
    return {k: Sourced(v, "--disable-password-login", at) for k, v in NO_PASSWORD.items()}


def _admin_names(catalog: Catalog, at: Location) -> list[str]:
    declared = catalog.variables.get(ADMINS)
    names = [a.get("name") for a in (declared.value if declared else []) if isinstance(a, dict)]
    if not names:
        raise InputError(f"host {catalog.host.name} declares no admin: set {ADMINS} (see roles/base)", at)
    return [str(n) for n in names]


def _is_admin(item: dict[str, Any]) -> bool:
    """An item of base's resources that makes the admins: declared over base_admins, or the sudo package."""
    over = str(item.get("for_each", ""))
    return (ADMINS in over and f"{ADMINS}_absent" not in over) or item.get("package") == {"name": "sudo"}


def _is_sshd(item: dict[str, Any]) -> bool:
    """An item of base's sshd hardening (the drop-in, its checker and their package)."""
    return item.get("when") == "base_sshd_harden"


def _only(full: Catalog, base: Role, keep: Callable[[dict[str, Any]], bool]) -> Catalog:
    """The catalog with only the entries declared by the base role's items that `keep` selects."""
    places = {base.resources.where_of(i) for i, item in enumerate(base.resources)
              if isinstance(item, dict) and keep(item)}
    entries: tuple[Entry, ...] = tuple(e for e in full.entries if e.role == "base" and e.where in places)
    return dataclasses.replace(full, entries=entries)


def login_host(host: Host, request: Request) -> Host:
    """The host as first contact logs in: `--user` (with sudo unless root), by password or key."""
    user = request.user or host.ssh.user
    become = user != "root" and (host.ssh.become or request.user is not None)
    return dataclasses.replace(host, ssh=dataclasses.replace(host.ssh, user=user, become=become))


def admin_host(host: Host, admin: str) -> Host:
    """The host as the admin reaches it after first contact: by key, with sudo."""
    return dataclasses.replace(host, ssh=dataclasses.replace(host.ssh, user=admin, become=admin != "root"))


def run(host: Host, got: Parts, request: Request, event: converge.Event) -> Report:
    """First contact with one host; every failure is caught and reported."""
    report = Report(host.name, admin=got.admin)
    try:
        _contact(host, got, request, event, report)
    except Unreachable as exc:
        report.status, report.error = HostStatus.UNREACHABLE, str(exc)
    except (ConfigureError, converge.Locked) as exc:
        report.status, report.error = HostStatus.FAILED, str(exc)
    if report.status == HostStatus.OK and report.changed:
        report.status = HostStatus.CHANGED
    return report


def _contact(host: Host, got: Parts, request: Request, event: converge.Event, report: Report) -> None:
    session = ssh.connect(login_host(host, request), request.accept_new, request.sudo_password,
                          wait=request.wait, password=request.password)
    try:
        report.host_key = session.host_key
        _converge(session, got.admins, event, report)
    finally:
        session.close()
    # a NEW connection, as the admin and by key, before anything else changes
    try:
        admin = ssh.connect(admin_host(host, got.admin), request.accept_new, request.sudo_password)
    except Unreachable as exc:
        raise HostFailed(f"key login as {got.admin} on a new connection failed: {exc}") from None
    try:
        done = admin.run("id -u")
        if done.status != 0 or done.stdout.strip() != "0":
            raise HostFailed(f"key login as {got.admin} works but sudo does not: {done.stderr.strip()}")
        report.key_login = True
        if got.sshd is not None:
            _converge(admin, got.sshd, event, report)  # over the admin's connection: sshd-check guards it
            report.password_login_disabled = True
    finally:
        admin.close()


def _converge(session: ssh.Session, catalog: Catalog, event: converge.Event, report: Report) -> None:
    outcome = converge.converge(session, catalog, False, event)
    report.changed += [p.entry.resource.id for p, s in outcome.steps if s == StepStatus.CHANGED]
    if outcome.error:
        raise HostFailed(outcome.error)
