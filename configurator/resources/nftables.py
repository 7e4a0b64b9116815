"""An nftables ruleset: checked with `nft -c`, persisted in /etc/nftables.conf, loaded atomically,
and refused when it would drop the SSH connection the run itself uses."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from configurator.engine.actions import Action, Run, Upload, quote
from configurator.engine.hostpaths import STATE_DIR
from configurator.resources.base import Check, Resource, Step, change, field_lines, ok, unknown
from configurator.resources.file import content_diff
from configurator.resources.nftguard import Connection, refusal
from configurator.resources.touch import Touches, touches

LOADED = f"{STATE_DIR}/nftables.loaded"  # sha256 of `nft -s list ruleset` right after the last load
UNIT = "nftables.service"  # Debian's unit that loads /etc/nftables.conf at boot

# The run's SSH connection: this shell's, or (under sudo, which drops it) the nearest parent's.
SSH_CONNECTION = """\
c=${SSH_CONNECTION:-}; q=$$
while [ -z "$c" ] && [ "$q" -gt 1 ]; do
  q=$(awk '/^PPid:/ { print $2 }' "/proc/$q/status" 2>/dev/null); [ "${q:-0}" -gt 1 ] || break
  c=$(tr '\\0' '\\n' < "/proc/$q/environ" 2>/dev/null | sed -n 's/^SSH_CONNECTION=//p')
done
echo "ssh=$c"
"""

# The validator of a new ruleset (FILE CLIENT SERVER PORT): `nft -c`, then a rehearsal. Two private
# network namespaces, the server's with the run's interface name and address and the ruleset loaded,
# the client's with the run's address, and a new TCP connection to the SSH port: an answer (a refusal
# from the closed port is one) passes; silence refuses the ruleset. Without a connection, only `nft -c`.
REHEARSE = """\
set -u
file=$1 client=$2 server=$3 port=$4
nft -c -f "$file" || exit 1
[ -n "$client" ] || exit 0
dev=$(ip -o route get "$client" 2>/dev/null | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')
if [ -z "$dev" ] || ! command -v bash >/dev/null; then
  echo "nftables: no rehearsal (no ip route to $client, or no bash)" >&2; exit 0
fi
bits=32; case $client in *:*) bits=128 ;; esac
s=cfg-nft-s$$ c=cfg-nft-c$$ v=cfgnft$$
trap 'ip netns del $s 2>/dev/null; ip netns del $c 2>/dev/null' EXIT
ip netns add $s && ip netns add $c && ip link add $v type veth peer name $v-c \\
  && ip link set $v netns $s && ip link set $v-c netns $c \\
  && ip -n $s link set $v name "$dev" && ip -n $s addr add "$server/$bits" dev "$dev" \\
  && ip -n $s link set "$dev" up && ip -n $s link set lo up && ip -n $s route add "$client/$bits" dev "$dev" \\
  && ip -n $c addr add "$client/$bits" dev $v-c && ip -n $c link set $v-c up && ip -n $c link set lo up \\
  && ip -n $c route add "$server/$bits" dev $v-c || { echo "nftables: could not set up the rehearsal" >&2; exit 1; }
if ! ip netns exec $s nft -f "$file" 2>/dev/null; then
  echo "nftables: no rehearsal (the ruleset names what a bare namespace lacks)" >&2; exit 0
fi
out=$(ip netns exec $c timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"' sh "$server" "$port" 2>&1); rc=$?
case $rc:$out in 0:* | *"Connection refused"*) exit 0 ;; esac
echo "nftables: refusing: with this ruleset, a new connection from $client to $server port $port was dropped" \\
  "(tried in a private network namespace: ${out:-no answer in 5 s})" >&2
exit 1
"""

# Loads the persisted file in one transaction, then remembers what the kernel holds after it.
LOAD = ('nft -f "$1" && s=$(nft -s list ruleset | sha256sum) && '
        'mkdir -p -m 0700 -- "${2%/*}" && echo "${s%% *}" > "$2"')


@dataclass(frozen=True)
class Ruleset:
    """The persisted file's sha256 (`absent`), the live ruleset's and the one loaded last, the
    unit's enablement, whether nft exists, and the run's SSH connection (`client server port`)."""

    file_sha256: str = ""
    live_sha256: str = ""
    loaded_sha256: str = ""
    enabled: str = ""
    has_nft: bool = True
    ssh: str = ""
    content: bytes | None = None


@dataclass(frozen=True)
class Nftables(Resource[Ruleset]):
    """The host's whole nftables ruleset, persisted and loaded in one transaction.

    Example: `nftables: {content: "flush ruleset\\ntable inet filter { ... }\\n"}`

    The content must start with `flush ruleset`, so that `nft -f` replaces the live ruleset
    atomically. It is written to `path` (checked first with `nft -c -f` on the temp file), loaded,
    and `nftables.service` is enabled so that the host loads it at boot. A ruleset whose input
    hook would drop a new SSH connection from the address this run comes from, to the port it
    uses, is refused before anything changes (`ssh_guard: false` turns that off): once when the
    plan reads it (below), and once on the host, where a new connection from that address to that
    port is tried against the new ruleset in two private network namespaces before it is written. A live ruleset
    changed by hand (`nft -s list ruleset` differs from what the last load left) is loaded again.

    The guard reads the `table ... { chain ... { } }` block form (`define`d variables, `jump`/`goto`
    followed): a rule counts as accepting SSH only when it surely matches (`tcp dport`, `ip saddr`,
    `ct state` with `new`); a drop that may match, or a policy drop at the end, refuses the ruleset.
    `include` and `add rule` lines cannot be read and refuse it too; then `ssh_guard: false`.
    """

    content: str
    path: str = "/etc/nftables.conf"
    ssh_guard: bool = True
    mode: str = "0755"
    type: ClassVar[str] = "nftables"

    @property
    def id(self) -> str:
        return f"{self.type}[{self.path}]"

    @property
    def data(self) -> bytes:
        return self.content.encode("utf-8")

    def validate(self) -> list[str]:
        first = next((line.strip() for line in self.content.split("\n")
                      if line.strip() and not line.lstrip().startswith("#")), "")
        if re.sub(r"\s+", " ", first.rstrip(";")) != "flush ruleset":
            return ["content must start with `flush ruleset` (so that loading it replaces the live ruleset "
                    f"in one transaction); it starts with {first[:60]!r}"]
        return []

    def touches(self) -> Touches:
        """Reads and writes the ruleset file, the loaded ruleset and its unit."""
        mine = {("path", self.path), ("nftables", "ruleset"), ("unit", UNIT)}
        return touches(mine, mine)

    def probe(self) -> str:
        p, want = quote(self.path), hashlib.sha256(self.data).hexdigest()
        return (f"p={p}\nif [ -f \"$p\" ] && [ ! -L \"$p\" ]; then s=$(sha256sum < \"$p\"); s=${{s%% *}}; "
                "echo \"file_sha256=$s\"\n"
                f"  if [ \"$s\" != {want} ] && [ $(stat -c %s -- \"$p\") -le 262144 ]; then "
                "echo \"content_b64=$(base64 -w0 < \"$p\")\"; fi\n"
                "else echo file_sha256=absent; fi\n"
                "if command -v nft >/dev/null 2>&1; then s=$(nft -s list ruleset 2>&1 | sha256sum); "
                "echo \"live_sha256=${s%% *}\"; else echo nft=missing; fi\n"
                f"echo \"loaded_sha256=$(cat {quote(LOADED)} 2>/dev/null)\"\n"
                f"echo \"enabled=$(systemctl is-enabled {UNIT} 2>/dev/null)\"\n" + SSH_CONNECTION)

    def parse(self, text: str) -> Ruleset:
        seen = field_lines(text)
        old = seen.get("content_b64")
        ssh = seen.get("ssh", "")
        if ssh and (len(ssh.split()) != 4 or not ssh.split()[3].isdigit()):
            raise ValueError(f"SSH_CONNECTION {ssh!r} is not 'client port server port'")
        return Ruleset(seen["file_sha256"], seen.get("live_sha256", ""), seen.get("loaded_sha256", ""),
                       seen.get("enabled", ""), seen.get("nft") != "missing", ssh,
                       base64.b64decode(old, validate=True) if old is not None else None)

    def guard(self, ssh: str) -> str:
        """Why this ruleset is refused for the run's connection `ssh` (SSH_CONNECTION), or ""."""
        parts = ssh.split()
        if not self.ssh_guard or not parts:
            return ""  # no SSH connection to keep (connection: local)
        return refusal(self.content, Connection(parts[0], int(parts[3])))

    def validator(self, ssh: str) -> tuple[str, ...]:
        """`nft -c` of the temp file, and the rehearsal of the run's connection when it has one."""
        parts = ssh.split()
        if not self.ssh_guard or not parts:
            return ("nft", "-c", "-f", "%s")
        return ("sh", "-c", REHEARSE, "sh", "%s", parts[0], parts[2], parts[3])

    def plan(self, observed: Ruleset) -> Step:
        seen = observed
        why = self.guard(seen.ssh)
        if why:
            return unknown(f"refusing the ruleset: {why}")
        actions: list[Action] = []
        notes: list[str] = []
        if seen.file_sha256 != hashlib.sha256(self.data).hexdigest():
            notes.append(f"write {self.path}" if seen.file_sha256 == "absent" else f"content of {self.path} changed")
            actions.append(Upload(self.path, self.data, self.mode, "root", "root", self.validator(seen.ssh)))
        if actions or not seen.has_nft or not seen.loaded_sha256 or seen.live_sha256 != seen.loaded_sha256:
            if not actions:
                notes.append("live ruleset differs from the one last loaded" if seen.loaded_sha256 else "load it")
            actions.append(Run(("sh", "-c", LOAD, "sh", self.path, LOADED)))
        if seen.enabled != "enabled":
            notes.append(f"enable {UNIT}")
            actions.append(Run(("systemctl", "enable", "--quiet", UNIT)))
        if not actions:
            return ok("ruleset loaded")
        diff = content_diff(self.path, seen.content, self.data) if isinstance(actions[0], Upload) else ""
        return change(", ".join(notes), *actions, diff=diff,
                      kind="create" if seen.file_sha256 == "absent" else "modify")

    def checks(self) -> list[Check]:
        return [Check(f"{self.path} is the ruleset and is loaded", self._verify)]

    def _verify(self, host: Any) -> None:
        f = host.file(self.path)
        assert f.is_file and f.sha256sum == hashlib.sha256(self.data).hexdigest(), f"{self.path} content differs"
        live = host.check_output("nft -s list ruleset | sha256sum").split()[0]
        loaded = host.check_output("cat %s", LOADED).strip()
        assert live == loaded, "the live ruleset differs from the one loaded from " + self.path
