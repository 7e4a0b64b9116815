"""An authoritative DNS zone file whose SOA serial moves only when the records change.

Templates are rendered on the control machine, before anything is known of the host, so the
serial cannot be part of a template.  This resource renders the zone itself (SOA, NS, one
A/AAAA or PTR record per inventory host, extra records) and decides the serial from what the
probe saw: the live file, compared with the serial line set aside, and the host's date.
Unchanged records keep the live serial; changed records get max(live + 1, YYYYMMDD00).

Example (role.yml):
    zone: {path: /etc/bind/zones/db.lab.example, zone: lab.example, nameserver: ns1,
           nameserver_address: 198.18.0.14, hosts: "{{ inventory.hosts }}",
           records: "{{ dns_records }}"}
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from configurator.engine.actions import Upload, command_line, quote
from configurator.resources.base import Check, Resource, Step, change, field_lines, unknown
from configurator.resources.file import STAT, PathState, content_diff, metadata_step, path_state
from configurator.resources.touch import Touches, owners, touches

REVERSE_SUFFIX = ".in-addr.arpa"
SERIAL_MAX = 2**32 - 1
# The serial sits alone on its line in the files this resource writes; the probe's sed and
# `normalize` below put the same placeholder there, so both sides hash the same bytes.
SERIAL_LINE = re.compile(rb"^[ \t]*[0-9]{1,10} ; serial$", re.M)
SERIAL_SED = r"0,/^[[:blank:]]*[0-9]\{1,10\} ; serial$/s//SERIAL ; serial/"
PLACEHOLDER = b"SERIAL ; serial"
LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
HOST_NAME = re.compile(rf"^{LABEL}(\.{LABEL})*\.?$")  # what check-names accepts for A/AAAA owners
DOMAIN = re.compile(r"^[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*\.?\Z")
OWNER = re.compile(r'^[^\s;"()\\]+$')  # record names: no blanks, comments, quotes or parentheses
RR_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,15}\Z")
RECORD_KEYS = {"name", "type", "value", "ttl"}


@dataclass(frozen=True)
class Record:
    """One resource record line: owner (relative to the origin, or absolute with a dot)."""

    owner: str
    type: str
    value: str
    ttl: int | None = None

    def line(self) -> str:
        ttl = f"{self.ttl}\t" if self.ttl is not None else ""
        return f"{self.owner}\t{ttl}IN\t{self.type}\t{self.value}"


def normalize(content: bytes) -> bytes:
    """The zone text with its serial line replaced by a placeholder (first match only, like the probe's sed)."""
    return SERIAL_LINE.sub(PLACEHOLDER, content, count=1)


def soa_serial(content: bytes) -> int | None:
    """The serial of the first SOA record of any zone file text, or None if there is none."""
    tokens = _tokens(content.decode("utf-8", errors="replace"))
    for index, token in enumerate(tokens):
        if token.upper() == "SOA" and index + 3 < len(tokens):
            serial = tokens[index + 3]
            return int(serial) if serial.isdigit() and int(serial) <= SERIAL_MAX else None
    return None


def _tokens(text: str) -> list[str]:
    """Zone file tokens: comments and parentheses dropped, a quoted string kept as one token."""
    tokens: list[str] = []
    current = ""
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            current += text[index:index + 2]
            index += 2
            continue
        if char == '"':
            end = index + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            current += text[index:end + 1]
            index = end + 1
            continue
        if char == ";":
            while index < len(text) and text[index] != "\n":
                index += 1
            continue
        if char.isspace() or char in "()":
            if current:
                tokens.append(current)
            current = ""
        else:
            current += char
        index += 1
    if current:
        tokens.append(current)
    return tokens


def next_serial(live: int | None, today: int) -> int:
    """The serial after `live`: at least today's YYYYMMDD00, always greater in RFC 1982 terms."""
    floor = today * 100
    if live is None:
        return floor
    wanted = max(live + 1, floor)
    return wanted if wanted <= SERIAL_MAX else (live + 1) % 2**32


def reverse_network(zone: str) -> ipaddress.IPv4Network:
    """The network an in-addr.arpa zone covers: 0.18.198.in-addr.arpa -> 198.18.0.0/24."""
    labels = zone.rstrip(".").lower().removesuffix(REVERSE_SUFFIX).split(".")
    if not 1 <= len(labels) <= 3 or not all(x.isdigit() and str(int(x)) == x and int(x) < 256 for x in labels):
        raise ValueError(f"{zone!r} is not a reverse zone of a /8, /16 or /24 network "
                         "(like 0.18.198.in-addr.arpa; classless delegation is not supported)")
    octets = list(reversed(labels))
    return ipaddress.IPv4Network(".".join(octets + ["0"] * (4 - len(octets))) + f"/{8 * len(octets)}")


def _absolute(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _inside(name: str, origin: str) -> bool:
    """Whether `name` is `origin` or below it (case-insensitive, trailing dots ignored)."""
    name, origin = name.rstrip(".").lower(), origin.rstrip(".").lower()
    return name == origin or name.endswith("." + origin)


def _relative(name: str, origin: str) -> str:
    """A host name as an owner: relative to `origin` (`@` for the apex); other names stay as written."""
    if not _inside(name, origin):
        return name
    bare, origin = name.rstrip("."), origin.rstrip(".")
    return "@" if len(bare) == len(origin) else bare[: -len(origin) - 1]


def _address_record(owner: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Record:
    return Record(owner, "A" if ip.version == 4 else "AAAA", str(ip))


def _ptr_owner(ip: ipaddress.IPv4Address, network: ipaddress.IPv4Network) -> str:
    """The PTR owner of `ip` relative to its reverse zone: 198.18.0.11 in 198.18.0.0/24 -> 11."""
    return ".".join(reversed(str(ip).split(".")[network.prefixlen // 8:]))


@dataclass(frozen=True)
class ZoneState:
    """The live zone file: its metadata, the sha256 with the serial set aside, its content when it
    differs from the wanted one, and the host's date (YYYYMMDD, UTC)."""

    path: PathState
    today: int
    normalized: str = ""
    content: bytes | None = None


@dataclass(frozen=True)
class Zone(Resource[ZoneState]):
    """A primary zone file, rendered here; the serial is decided from the live file."""

    path: str
    zone: str
    nameserver: str  # the primary name server: relative to `domain` unless it ends with a dot
    nameserver_address: str = ""  # its address, written as a glue record when it is inside the zone
    contact: str = ""  # e-mail of the zone's administrator; "" means hostmaster@DOMAIN
    domain: str = ""  # the forward domain the hosts live in (PTR targets); "" means the zone
    # {name: {address, vars}}: the inventory view, as `hosts: "{{ inventory.hosts }}"` gives it
    hosts: dict[str, Any] = field(default_factory=dict, repr=False, hash=False)
    records: tuple[dict[str, Any], ...] = field(default=(), hash=False)  # ({name, type, value, ttl?}, ...)
    ttl: int = 3600
    refresh: int = 3600
    retry: int = 900
    expire: int = 1209600
    negative_ttl: int = 300
    owner: str = "root"
    group: str = "bind"
    mode: str = "0644"
    checker: tuple[str, ...] = ("named-checkzone", "-k", "fail")  # run as CHECKER ZONE FILE
    type: ClassVar[str] = "zone"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.path}]"

    @property
    def is_reverse(self) -> bool:
        return self.zone.rstrip(".").lower().endswith(REVERSE_SUFFIX)

    @property
    def origin(self) -> str:
        return self.zone.rstrip(".")

    @property
    def forward_domain(self) -> str:
        return (self.domain or self.zone).rstrip(".")

    @property
    def nameserver_fqdn(self) -> str:
        return self.nameserver if self.nameserver.endswith(".") else f"{self.nameserver}.{self.forward_domain}."

    def validate(self) -> list[str]:
        problems = [f"{what} {value!r} is not a domain name" for what, value in
                    (("zone", self.zone), ("nameserver", self.nameserver), ("domain", self.domain or self.zone))
                    if not DOMAIN.match(value)]
        if self.contact and not re.match(r"^[^\s;@\"()\\]+(@[A-Za-z0-9.-]+)?$", self.contact):
            problems.append(f"contact {self.contact!r} is not an e-mail address or a domain name")
        problems += [f"{n} must be a number of seconds, got {v}" for n, v in
                     (("ttl", self.ttl), ("refresh", self.refresh), ("retry", self.retry),
                      ("expire", self.expire), ("negative_ttl", self.negative_ttl)) if not 0 <= v <= 2**31 - 1]
        if not self.checker:
            problems.append("checker must name a command (e.g. [named-checkzone, -k, fail])")
        return problems or self._records()[1]

    # -- rendering -------------------------------------------------------------------------------

    def _records(self) -> tuple[list[Record], list[str]]:
        """NS, glue, the hosts' records and the extra records, with the problems found."""
        problems: list[str] = []
        found = [Record("@", "NS", self.nameserver_fqdn)]
        glue = _relative(self.nameserver_fqdn, self.origin)
        if not self.is_reverse and self.nameserver_address and _inside(self.nameserver_fqdn, self.origin) \
                and glue != "@":
            found += self._address_records(glue, self.nameserver_address, "nameserver_address", problems)
        found += self._host_records(problems)
        found += self._extra_records(problems)
        unique = list(dict.fromkeys(found))  # an NS name that is also an inventory host: one A record
        return unique, problems

    def _address_records(self, owner: str, address: str, what: str, problems: list[str]) -> list[Record]:
        try:
            return [_address_record(owner, ipaddress.ip_address(address))]
        except ValueError:
            return _fail(problems, f"{what} {address!r} is not an IP address")

    def _host_records(self, problems: list[str]) -> list[Record]:
        hosts = self.hosts
        if not isinstance(hosts, dict):
            return _fail(problems, "hosts must be a mapping of name -> host (the inventory view: inventory.hosts)")
        network = None
        if self.is_reverse and hosts:
            try:
                network = reverse_network(self.zone)
            except ValueError as exc:
                return _fail(problems, str(exc))
        found: list[Record] = []
        for name in sorted(hosts, key=_host_sort_key(hosts)):
            address, wanted = _address_and_opt_in(name, hosts[name])
            if wanted is False:
                continue
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                if wanted is True:
                    problems.append(f"host {name}: address {address!r} is not an IP address (it has dns: true)")
                continue
            if not HOST_NAME.match(name):
                problems.append(f"host {name}: {name!r} is not a valid DNS host name; "
                                "set `dns: false` in its vars to leave it out of DNS")
                continue
            if network is None:
                found.append(_address_record(_relative(name, self.origin), ip))
            elif isinstance(ip, ipaddress.IPv4Address) and ip in network:
                found.append(Record(_ptr_owner(ip, network), "PTR", self._ptr_target(name)))
        return found

    def _ptr_target(self, name: str) -> str:
        if name.endswith("."):
            return name
        return f"{name}." if _inside(name, self.forward_domain) else f"{name}.{self.forward_domain}."

    def _extra_records(self, problems: list[str]) -> list[Record]:
        if not isinstance(self.records, list | tuple):
            return _fail(problems, "records must be a list of {name, type, value}")
        found: list[Record] = []
        for index, item in enumerate(self.records):
            record = _record(item, f"records[{index}]", problems)
            if record is not None:
                found.append(record)
        return found

    def render(self, serial: int) -> bytes:
        """The whole zone file with `serial`."""
        records, problems = self._records()
        if problems:  # build() refuses such a zone; a direct caller gets the same message
            raise ValueError(problems[0])
        lines = [
            f"; zone {self.origin}: managed by configurator, edits here are overwritten",
            f"$ORIGIN {self.origin}.",
            f"$TTL {self.ttl}",
            f"@\tIN\tSOA\t{self.nameserver_fqdn} {self._rname()} (",
            f"\t{serial} ; serial",
            f"\t{self.refresh} ; refresh",
            f"\t{self.retry} ; retry",
            f"\t{self.expire} ; expire",
            f"\t{self.negative_ttl} ; negative caching TTL",
            "\t)",
            *(r.line() for r in records),
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")

    def _rname(self) -> str:
        contact = self.contact or f"hostmaster@{self.forward_domain}"
        if "@" in contact:
            local, _, domain = contact.rpartition("@")
            return f"{local.replace('.', chr(92) + '.')}.{domain.rstrip('.')}."
        return _absolute(contact)

    @property
    def normalized_sha256(self) -> str:
        return hashlib.sha256(normalize(self.render(0))).hexdigest()

    @property
    def validate_argv(self) -> tuple[str, ...]:
        return (*self.checker, self.origin, "%s")

    # -- probe, plan, checks ---------------------------------------------------------------------

    def touches(self) -> Touches:
        """Reads and writes the zone file (and the accounts it names)."""
        return touches({("path", self.path), *owners(self.owner, self.group)}, {("path", self.path)})

    def probe(self) -> str:
        return (
            f"p={quote(self.path)}\n"
            'if [ -L "$p" ]; then echo type=link\n'
            f'elif [ -f "$p" ]; then {STAT}\n'
            f'  n=$(sed {quote(SERIAL_SED)} -- "$p" | sha256sum) && n=${{n%% *}} && echo "normalized=$n"\n'
            f'  if [ "$n" != {self.normalized_sha256} ]; then echo "content_b64=$(base64 -w0 < "$p")"; fi\n'
            'elif [ -e "$p" ]; then echo type=other\nelse echo type=absent; fi\n'
            'echo "today=$(date -u +%Y%m%d)"\n'
        )

    def parse(self, text: str) -> ZoneState:
        seen = field_lines(text)
        content = base64.b64decode(seen["content_b64"]) if "content_b64" in seen else None
        return ZoneState(path_state(seen), int(seen["today"]), seen.get("normalized", ""), content)

    def plan(self, observed: ZoneState) -> Step:
        today = observed.today
        kind = observed.path.kind
        if kind == "absent":
            serial = next_serial(None, today)
            content = self.render(serial)
            return change(f"create zone {self.origin} (serial {serial})", self._upload(content),
                          diff=content_diff(self.path, None, content), kind="create")
        if kind not in ("regular file", "regular empty file"):
            return unknown(f"{self.path} exists but is a {kind or 'thing the probe did not describe'}")
        if observed.normalized == self.normalized_sha256:
            return metadata_step(self.path, observed.path, self.mode, self.owner, self.group,
                                 f"zone {self.origin} unchanged")
        if observed.content is None:
            raise ValueError(f"the probe sent no content of {self.path}, whose records differ")
        old = observed.content
        live = soa_serial(old)
        serial = next_serial(live, today)
        content = self.render(serial)
        return change(f"zone {self.origin} records changed (serial {live} -> {serial})",
                      self._upload(content), diff=content_diff(self.path, old, content))

    def _upload(self, content: bytes) -> Upload:
        return Upload(self.path, content, self.mode, self.owner, self.group, self.validate_argv)

    def checks(self) -> list[Check]:
        return [Check(f"zone {self.origin}: records as wanted (serial aside)", self._verify_content),
                Check(f"zone {self.origin}: {self.checker[0]} accepts {self.path}", self._verify_checker)]

    def _verify_content(self, host: Any) -> None:
        f = host.file(self.path)
        assert f.is_file, f"{self.path} is not a regular file"
        live = normalize(f.content)
        assert hashlib.sha256(live).hexdigest() == self.normalized_sha256, f"{self.path}: records differ"
        assert f.mode == int(self.mode, 8), f"{self.path} mode is {f.mode:o}, expected {self.mode}"
        assert (f.user, f.group) == (self.owner, self.group), f"{self.path} owner is {f.user}:{f.group}"

    def _verify_checker(self, host: Any) -> None:
        argv = [*self.checker, self.origin, self.path]
        done = host.run(command_line(argv))
        assert done.rc == 0, f"{' '.join(argv)} exited {done.rc}: {(done.stdout + done.stderr).strip()}"


def _fail(problems: list[str], message: str) -> list[Record]:
    problems.append(message)
    return []


def _address_and_opt_in(name: str, spec: Any) -> tuple[str, bool | None]:
    """A host's address and its `dns` var (True, False or None when not set)."""
    if isinstance(spec, str):
        return spec, None
    if not isinstance(spec, dict):
        return name, None
    variables = spec.get("vars") or {}
    wanted = variables.get("dns") if isinstance(variables, dict) else None
    return str(spec.get("address", name)), wanted if isinstance(wanted, bool) else None


def _host_sort_key(hosts: dict[str, Any]) -> Callable[[str], tuple[int, int, str]]:
    """Hosts in address order (then name), so the zone does not change when the inventory is reordered."""
    def key(name: str) -> tuple[int, int, str]:
        address, _ = _address_and_opt_in(name, hosts[name])
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return (9, 0, name)
        return (ip.version, int(ip), name)
    return key


def _record(item: Any, what: str, problems: list[str]) -> Record | None:
    """One extra record from {name, type, value, ttl?}; values are checked for shape only
    (one line, no control characters): their syntax is the zone checker's job on the host."""
    if not isinstance(item, dict):
        problems.append(f"{what} must be a mapping like {{name: www, type: CNAME, value: node1}}")
        return None
    unknown_keys = sorted(set(item) - RECORD_KEYS)
    if unknown_keys:
        problems.append(f"{what}: unknown key {unknown_keys[0]!r} (allowed: name, type, value, ttl)")
        return None
    name, kind, value, ttl = item.get("name"), item.get("type"), item.get("value"), item.get("ttl")
    if not isinstance(name, str) or not OWNER.match(name):
        problems.append(f"{what}: name {name!r} must be one word (use @ for the zone itself)")
    elif not isinstance(kind, str) or not RR_TYPE.match(kind):
        problems.append(f"{what}: type {kind!r} is not a record type like A, CNAME, MX, TXT")
    elif isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip() \
            or any(ord(c) < 32 or ord(c) == 127 for c in str(value)):
        problems.append(f"{what}: value {value!r} must be text on one line")
    elif ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= 2**31 - 1):
        problems.append(f"{what}: ttl {ttl!r} must be a number of seconds")
    else:
        text = str(value).strip()
        if kind.upper() == "TXT" and not text.startswith('"'):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return Record(name, kind.upper(), text, ttl)
    return None
