"""Debian packages through apt: present (optionally at a version), latest, absent (removed) or purged,
and held or released (`apt-mark`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

from configurator.engine.actions import Action, Run, quote
from configurator.resources.apt_lists import (
    APT_ENV,
    LIST_MAX_AGE,
    LISTS_AGE,
    STAMP,
    UPDATE,
    UPDATE_SCRIPT,
    UPDATE_TRY_SECONDS,
)
from configurator.resources.base import Check, Resource, Step, Unreadable, change, field_lines, ok, unknown
from configurator.resources.sections import split_marked
from configurator.resources.touch import EVERYTHING, Touches, touches

WORD = re.compile(r"(\S+)")  # the package name after a candidate marker

__all__ = ["APT_ENV", "APT_OPTS", "LIST_MAX_AGE", "LISTS_AGE", "STAMP", "UPDATE", "UPDATE_SCRIPT",
           "UPDATE_TRY_SECONDS", "Package", "PackageState", "merge_installs"]

APT_OPTS = ("-y", "-q", "-o", "DPkg::Lock::Timeout=300", "-o", "Dpkg::Options::=--force-confdef",
            "-o", "Dpkg::Options::=--force-confold")
HELD_OK = "--allow-change-held-packages"  # only for a package the role itself holds
DEB_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?\Z")
# [epoch:]upstream[-revision] (Debian policy 5.6.12): upstream starts with a digit and holds a colon
# only after an epoch; the revision (after the last '-') is letters, digits, + . ~
DEB_VERSION = re.compile(r"^(?:[0-9]+:[0-9][A-Za-z0-9.+~:-]*|[0-9][A-Za-z0-9.+~-]*)(?<![-:])\Z")
GONE = ("", "not-installed")  # dpkg's current state when nothing of the package is left
REMOVED = (*GONE, "config-files")  # ... when at most its configuration files are


@dataclass(frozen=True)
class PackageState:
    """dpkg's status and version of a package, the age of apt's lists, and apt's candidate if asked."""

    status: str = ""  # "want ok current", e.g. "install ok installed", "hold ok installed"; "" when unknown
    version: str = ""
    lists_age: int = 0  # seconds; measured only when a package may be installed (0 when it was not)
    candidate: str | None = None

    @property
    def installed(self) -> bool:
        return self.status.endswith(" installed")

    @property
    def held(self) -> bool:
        """Marked hold in dpkg's selections (`apt-mark hold`): apt leaves it as it is."""
        return self.status.startswith("hold ")

    @property
    def current(self) -> str:
        """dpkg's current state: installed, config-files, not-installed, unpacked... ("" when unknown)."""
        return self.status.rpartition(" ")[2]


@dataclass(frozen=True)
class Package(Resource[PackageState]):
    """A Debian package: `present` (at `version` if given), `latest`, `absent` (removed, configuration
    files kept) or `purged` (configuration files too); `hold: true` holds it (`apt-mark hold`),
    `hold: false` releases a hold, and without `hold` a hold set by hand is left as it is.

    Example: `package: {name: nginx-light, state: present, hold: true}`

    An install refreshes apt's lists first when they are older than 24 hours, or when an
    `apt_source` changed since they were last refreshed. `latest` installs apt's candidate; when the
    lists are that old the candidate is not known yet, so the step refreshes them and installs the
    newest version there is (it shows as a change). A held package that the role would change
    without saying `hold` is reported, never changed behind the hold.
    """

    name: str
    state: Literal["present", "absent", "purged", "latest"] = "present"
    version: str | None = None
    hold: bool | None = None
    type: ClassVar[str] = "package"
    # one dpkg-query for every package (plus one apt-cache policy for each that needs a candidate)
    batched: ClassVar[bool] = True
    merges: ClassVar[bool] = True  # consecutive installs are one apt transaction

    @property
    def id(self) -> str:
        return f"{self.type}[{self.name}]"

    def validate(self) -> list[str]:
        problems = []
        if not DEB_NAME.match(self.name):
            problems.append(f"{self.name!r} is not a Debian package name (lowercase letters, digits, + . -)")
        if self.version is not None and not DEB_VERSION.match(self.version):
            problems.append(f"version {self.version!r} is not a Debian version ([epoch:]upstream[-revision], "
                            "starting with a digit)")
        if self.version is not None and self.state != "present":
            problems.append(f"version is only for state present, not {self.state}")
        if self.hold and self.state != "present":
            problems.append(f"hold: true keeps a package as it is, which state {self.state} contradicts")
        return problems

    @property
    def needs_candidate(self) -> bool:
        """Whether the plan needs apt's candidate version (only `latest` does)."""
        return self.state == "latest"

    @classmethod
    def batch_probe(cls, items: Sequence[Self], mark: str) -> str:
        """One dpkg-query for many packages (unknown names print nothing), the lists' age when an install
        may need it, then each candidate asked for."""
        names = " ".join(quote(p.name) for p in items)
        text = (f"__cfg_q=$(dpkg-query -W -f='${{Package}}|${{Status}}|${{Version}}\\n' -- {names} 2>/dev/null)\n"
                'printf \'%s\\n\' "$__cfg_q"\n' + _lists_age(items))
        for name in dict.fromkeys(p.name for p in items if p.needs_candidate):
            text += f"echo {quote(f'{mark}:candidate {name}')}; apt-cache policy {quote(name)} 2>/dev/null\n"
        return text

    @classmethod
    def batch_parse(cls, items: Sequence[Self], text: str, mark: str) -> list[PackageState | Unreadable]:
        """Each package's state (names and versions hold no separator: one line each)."""
        head, *asked = split_marked(text, f"{mark}:candidate ", WORD)
        candidates = {name: _candidate(body) for name, body in zip(asked[::2], asked[1::2], strict=True)}
        lines = head.split("\n")
        age = field_lines(next((line for line in lines if line.startswith("lists_age=")), "lists_age=0"))
        found: dict[str, tuple[str, str]] = {}
        for line in lines:
            name, sep, rest = line.partition("|")
            status, _, version = rest.partition("|")
            if sep and (name not in found or status.endswith(" installed")):
                found[name] = (status, version)
        result: list[PackageState | Unreadable] = []
        for p in items:
            status, version = found.get(p.name.split(":")[0], ("", ""))
            result.append(PackageState(status, version if status else "", int(age["lists_age"] or 0),
                                       candidates.get(p.name) if p.needs_candidate else None))
        return result

    def touches(self) -> Touches:
        """Reads the package; a transaction's maintainer scripts may create files, users and units anywhere."""
        return touches({("package", self.name)}, EVERYTHING)

    def probe(self) -> str:
        name = quote(self.name)
        text = (
            f"dpkg-query -W -f='status=${{Status}}\\nversion=${{Version}}\\n' {name} 2>/dev/null\n"
            f'{LISTS_AGE}; echo "lists_age=$a"\n'
        )
        if self.needs_candidate:
            text += f"apt-cache policy {name} 2>/dev/null | sed -n 's/^ *Candidate: /candidate=/p'\n"
        return text

    def parse(self, text: str) -> PackageState:
        seen = field_lines(text)
        return PackageState(seen.get("status", ""), seen.get("version", ""), int(seen.get("lists_age", "0") or 0),
                            seen.get("candidate"))

    def plan(self, observed: PackageState) -> Step:
        if self.state in ("absent", "purged"):
            return self._removal(observed)
        return self._install(observed)

    def _removal(self, seen: PackageState) -> Step:
        """Removed (configuration kept) or purged; only a hold this role releases lets a held one go."""
        left = REMOVED if self.state == "absent" else GONE
        release = self._release(seen)
        if seen.current in left:
            return change(f"release the hold on {self.name}", *release) if release else ok()
        if seen.held and not release:
            return unknown(f"{self.name} is held (apt-mark hold): set hold: false to let it be {self.state}")
        verb = "remove" if self.state == "absent" else "purge"
        return change(f"{verb} {self.name} {seen.version}".rstrip(), *release, self._apt(verb, self.name),
                      kind="remove")

    def _install(self, seen: PackageState) -> Step:
        """Installed at the wanted version (apt's candidate for `latest`), held or released as asked."""
        stale = seen.lists_age > LIST_MAX_AGE
        if self.state == "latest" and stale:
            verb = "upgrade" if seen.installed else "install"
            return self._installing(seen, f"refresh apt lists, then {verb} {self.name} to the newest version",
                                    self.name, (UPDATE,))
        wanted = self._wanted(seen)
        version = seen.version if seen.installed else ""
        if seen.installed and (wanted is None or wanted == version):
            return self._holding(seen, f"{self.name} {version}")
        if wanted == "(none)":
            return unknown(f"{self.name}: no installable version known to apt")
        target = f"{self.name}={wanted}" if wanted else self.name
        summary = f"upgrade {self.name} {version} -> {wanted}" if seen.installed else f"install {target}"
        return self._installing(seen, summary, target, (UPDATE,) if stale else ())

    def _installing(self, seen: PackageState, summary: str, target: str, first: tuple[Action, ...]) -> Step:
        """The install of `target` after `first`, with the hold released before or set after as asked."""
        if seen.held and self.hold is None:
            return unknown(f"{self.name} is held (apt-mark hold) at {seen.version or 'no version'}: "
                           "set hold: true to change it and keep it held, or hold: false to release it")
        hold = (self._mark("hold"),) if self.hold else ()
        install = self._apt("install", target, held=seen.held and self.hold is True)
        return change(summary, *self._release(seen), *first, install, *hold,
                      kind="modify" if seen.installed else "create")

    def _holding(self, seen: PackageState, summary: str) -> Step:
        """An installed package at the right version: ok, or its hold set or released."""
        if self.hold and not seen.held:
            return change(f"hold {self.name} {seen.version}", self._mark("hold"))
        release = self._release(seen)
        return change(f"release the hold on {self.name} {seen.version}", *release) if release else ok(summary)

    def _release(self, seen: PackageState) -> tuple[Action, ...]:
        """`apt-mark unhold` when the role says hold: false and the package is held."""
        return (self._mark("unhold"),) if self.hold is False and seen.held else ()

    def _wanted(self, seen: PackageState) -> str | None:
        """The version to install, or None when any installed version will do."""
        if self.version:
            return self.version
        if self.state == "latest":
            return seen.candidate or None
        return None

    @classmethod
    def merge(cls, actions: list[Action]) -> list[Action]:
        return merge_installs(actions)

    def _apt(self, verb: str, target: str, held: bool = False) -> Run:
        options = (*APT_OPTS, HELD_OK) if held else APT_OPTS
        return Run(("apt-get", *options, verb, "--", target), env=APT_ENV, timeout=1800)

    def _mark(self, verb: str) -> Run:
        return Run(("apt-mark", verb, self.name), env=APT_ENV, timeout=300)

    def checks(self) -> list[Check]:
        return [Check(f"package {self.name} {self.version or self.state}{_hold_note(self.hold)}", self._verify)]

    def _verify(self, host: Any) -> None:
        pkg = host.package(self.name)
        if self.state in ("absent", "purged"):
            assert not pkg.is_installed, f"package {self.name} is installed"
            if self.state == "purged":
                left = host.run("dpkg-query -W -f='${Status}' -- %s", self.name).stdout
                assert not left.endswith("config-files"), f"package {self.name} left its configuration files"
        else:
            assert pkg.is_installed, f"package {self.name} is not installed"
            if self.version:
                assert pkg.version == self.version, f"{self.name} is {pkg.version}, pinned {self.version}"
        if self.hold is not None:
            held = self.name in host.run("apt-mark showhold").stdout.split()
            assert held == self.hold, f"package {self.name} is {'' if held else 'not '}held"


def _lists_age(items: Sequence[Package]) -> str:
    """sh after the batch's dpkg-query (in $__cfg_q) that prints `lists_age=` unless no install can need it:
    no `latest` and no version asked, and every `present` package `install|hold ok installed` (what
    plan() keeps as it is; `absent` and `purged` never read the age). Saves stat and date on a converged
    host."""
    measure = f'({LISTS_AGE}; echo "lists_age=$a")'  # a subshell: an arithmetic error must not end the script
    if any(p.state == "latest" or p.version for p in items):
        return measure + "\n"
    present = list(dict.fromkeys(p.name for p in items if p.state == "present"))
    if not present:
        return ""
    installed = '*"\n$__cfg_p|install ok installed|"*|*"\n$__cfg_p|hold ok installed|"*'
    return (f"__cfg_n=; for __cfg_p in {' '.join(quote(n) for n in present)}; do "
            f'case "\n$__cfg_q" in {installed}) ;; *) __cfg_n=1;; esac; done\n'
            f'if [ -n "$__cfg_n" ]; then {measure}; fi\n')


def _hold_note(hold: bool | None) -> str:
    return "" if hold is None else (", held" if hold else ", not held")


def merge_installs(actions: list[Action]) -> list[Action]:
    """Fold consecutive apt-get installs with the same options (and duplicate list updates) into one
    transaction."""
    merged: list[Action] = []
    for action in actions:
        if action == UPDATE and UPDATE in merged:
            continue
        last = merged[-1] if merged else None
        head = _install_head(action)
        if head and isinstance(last, Run) and isinstance(action, Run) and _install_head(last) == head:
            merged[-1] = Run(last.argv + action.argv[len(head):], env=last.env, timeout=last.timeout)
            continue
        merged.append(action)
    return merged


def _candidate(policy: str) -> str | None:
    """The `Candidate:` version in `apt-cache policy` output for one package, if it names one."""
    found = re.search(r"^ *Candidate: (\S+)$", policy, flags=re.M)
    return found.group(1) if found else None


def _install_head(action: Action) -> tuple[str, ...]:
    """An apt-get install's argv up to its `--` (the targets follow), or () for anything else."""
    if not isinstance(action, Run) or action.argv[:1] != ("apt-get",) or "--" not in action.argv:
        return ()
    head = action.argv[:action.argv.index("--") + 1]
    return head if head[-2] == "install" else ()
