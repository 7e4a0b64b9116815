"""Debian packages through apt: present, absent, latest, or a pinned version."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from configurator.engine.actions import Action, Run, quote
from configurator.resources.base import Check, Resource, Step, Unreadable, change, field_lines, ok, unknown

LIST_MAX_AGE = 24 * 3600  # refresh apt lists older than this before installing
APT_ENV = (("DEBIAN_FRONTEND", "noninteractive"),)
APT_OPTS = ("-y", "-q", "-o", "DPkg::Lock::Timeout=300", "-o", "Dpkg::Options::=--force-confdef",
            "-o", "Dpkg::Options::=--force-confold")
DEB_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$")
# [epoch:]upstream[-revision] (Debian policy 5.6.12): upstream starts with a digit and holds a colon
# only after an epoch; the revision (after the last '-') is letters, digits, + . ~
DEB_VERSION = re.compile(r"^(?:[0-9]+:[0-9][A-Za-z0-9.+~:-]*|[0-9][A-Za-z0-9.+~-]*)(?<![-:])$")
STAMP = "/var/lib/configurator/apt-lists.stamp"  # apt-get update leaves the lists' mtime alone when nothing changed
# sh setting $a: seconds since the newest of the stamp and the lists directory changed (since the
# epoch when there are no package lists); two processes (stat, date), the rest is builtins
LISTS_AGE = (f"l=; for t in $(stat -c %Y {STAMP} /var/lib/apt/lists 2>/dev/null); do "
             'if [ -z "$l" ] || [ "$t" -gt "$l" ]; then l=$t; fi; done; l=${l:-0}; '
             'for t in /var/lib/apt/lists/*_Packages; do [ -e "$t" ] || [ -L "$t" ] || l=0; break; done; '
             "a=$(( $(date +%s) - l ))")
# A mirror or proxy hiccup can fail `apt-get update`, and apt 2.6 was seen to hang for good after a
# proxy answered 503 for an index: each try is bounded and retried (as Ansible's apt module retries).
UPDATE_TRIES, UPDATE_TRY_SECONDS = 3, 240
UPDATE_SCRIPT = (f"n=1; until timeout {UPDATE_TRY_SECONDS} apt-get -q -o DPkg::Lock::Timeout=120 update; do "
                 f'[ "$n" -ge {UPDATE_TRIES} ] && exit 1; n=$((n + 1)); sleep "$n"; done; '
                 f"mkdir -p /var/lib/configurator && touch {STAMP}")
UPDATE = Run(("sh", "-c", UPDATE_SCRIPT), env=APT_ENV, timeout=900)


@dataclass(frozen=True)
class PackageState:
    """dpkg's status and version of a package, the age of apt's lists, and apt's candidate if asked."""

    status: str = ""  # e.g. "install ok installed"; "" when dpkg does not know the package
    version: str = ""
    lists_age: int = 0  # seconds
    candidate: str | None = None

    @property
    def installed(self) -> bool:
        return self.status.endswith(" installed")


@dataclass(frozen=True)
class Package(Resource[PackageState]):
    """A Debian package: `present`, `absent`, `latest`, or `present` at `version`.

    Example: `package: {name: nginx-light, state: present}`
    """

    name: str
    state: str = "present"
    version: str | None = None
    type: ClassVar[str] = "package"
    prelude: ClassVar[str] = f"{LISTS_AGE}; __cfg_lists_age=$a\n"  # run once per probe script
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
        if self.state not in ("present", "absent", "latest"):
            problems.append(f"state must be present, absent or latest, got {self.state!r}")
        if self.version is not None and not DEB_VERSION.match(self.version):
            problems.append(f"version {self.version!r} is not a Debian version ([epoch:]upstream[-revision], "
                            "starting with a digit)")
        return problems

    @property
    def needs_candidate(self) -> bool:
        """Whether the plan needs apt's candidate version (only `latest` does)."""
        return self.state == "latest"

    @classmethod
    def batch_probe(cls, items: Sequence[Self], mark: str) -> str:
        """One dpkg-query for many packages (unknown names print nothing), then each candidate asked for."""
        names = " ".join(quote(p.name) for p in items)
        text = ('echo "lists_age=${__cfg_lists_age:-0}"\n'
                f"dpkg-query -W -f='${{Package}}|${{Status}}|${{Version}}\\n' -- {names} 2>/dev/null\n")
        for name in dict.fromkeys(p.name for p in items if p.needs_candidate):
            text += f"echo {quote(f'{mark}:candidate {name}')}; apt-cache policy {quote(name)} 2>/dev/null\n"
        return text

    @classmethod
    def batch_parse(cls, items: Sequence[Self], text: str, mark: str) -> list[PackageState | Unreadable]:
        """Each package's state (names and versions hold no separator: one line each)."""
        head, *asked = re.split(rf"^{re.escape(mark)}:candidate (\S+)\n", text, flags=re.M)
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

    def probe(self) -> str:
        name = quote(self.name)
        text = (
            f"dpkg-query -W -f='status=${{Status}}\\nversion=${{Version}}\\n' {name} 2>/dev/null\n"
            # the batched probe computes the lists' age once for all packages (PRELUDE)
            'if [ -n "${__cfg_lists_age-}" ]; then echo "lists_age=$__cfg_lists_age"; '
            f'else {LISTS_AGE}; echo "lists_age=$a"; fi\n'
        )
        if self.needs_candidate:
            text += f"apt-cache policy {name} 2>/dev/null | sed -n 's/^ *Candidate: /candidate=/p'\n"
        return text

    def parse(self, text: str) -> PackageState:
        seen = field_lines(text)
        return PackageState(seen.get("status", ""), seen.get("version", ""), int(seen.get("lists_age", "0") or 0),
                            seen.get("candidate"))

    def plan(self, observed: PackageState) -> Step:
        seen = observed
        installed = seen.installed
        version = seen.version if installed else ""
        if self.state == "absent":
            if not installed:
                return ok()
            return change(f"remove {self.name} {version}", self._apt("purge", self.name), kind="remove")
        wanted = self._wanted(seen)
        if installed and (wanted is None or wanted == version):
            return ok(f"{self.name} {version}")
        if wanted == "(none)":
            return unknown(f"{self.name}: no installable version known to apt")
        target = f"{self.name}={wanted}" if wanted else self.name
        stale = seen.lists_age > LIST_MAX_AGE
        actions: tuple[Action, ...] = (UPDATE,) if stale else ()
        summary = f"upgrade {self.name} {version} -> {wanted}" if installed else f"install {target}"
        return change(summary, *actions, self._apt("install", target), kind="modify" if installed else "create")

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

    def _apt(self, verb: str, target: str) -> Run:
        return Run(("apt-get", *APT_OPTS, verb, "--", target), env=APT_ENV, timeout=1800)

    def checks(self) -> list[Check]:
        def verify(host: Any) -> None:
            pkg = host.package(self.name)
            if self.state == "absent":
                assert not pkg.is_installed, f"package {self.name} is installed"
                return
            assert pkg.is_installed, f"package {self.name} is not installed"
            if self.version:
                assert pkg.version == self.version, f"{self.name} is {pkg.version}, pinned {self.version}"
        return [Check(f"package {self.name} {self.version or self.state}", verify)]


def merge_installs(actions: list[Action]) -> list[Action]:
    """Fold consecutive apt-get installs (and duplicate list updates) into one transaction."""
    merged: list[Action] = []
    for action in actions:
        if action == UPDATE and UPDATE in merged:
            continue
        last = merged[-1] if merged else None
        if _is_install(action) and isinstance(last, Run) and _is_install(last):
            assert isinstance(action, Run)
            merged[-1] = Run(last.argv + action.argv[len(APT_OPTS) + 3:], env=last.env, timeout=last.timeout)
            continue
        merged.append(action)
    return merged


def _candidate(policy: str) -> str | None:
    """The `Candidate:` version in `apt-cache policy` output for one package, if it names one."""
    found = re.search(r"^ *Candidate: (\S+)$", policy, flags=re.M)
    return found.group(1) if found else None


def _is_install(action: Action) -> bool:
    return isinstance(action, Run) and action.argv[: len(APT_OPTS) + 3] == ("apt-get", *APT_OPTS, "install", "--")

