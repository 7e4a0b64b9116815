"""Would an nftables ruleset drop a new SSH connection from the run's own address? Read from its text.

The reading is conservative: the input hook's base chains are walked rule by rule for a new TCP
connection from the client to the SSH port; a rule that surely matches and accepts makes the chain
safe, a drop or reject that may match (or a policy drop at the end) makes it refuse. Matches this
reader does not understand count as "may match" for a drop and "does not match" for an accept.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass

SERVICES = {"ssh": 22, "http": 80, "https": 443}
_TOKEN = re.compile(r'"[^"]*"|[{}]|[^\s{};]+|;|\n')
# words that neither match nor rule out anything for this reader (counters, logging, the protocol)
_SKIP_WORDS = {"counter", "packets", "bytes", "log", "prefix", "level", "meta", "l4proto", "tcp", "ip", "ip6",
               "th", "inet", "ct"}
MAX_DEPTH = 8  # jumps followed at most this deep (a loop is a refusal)


@dataclass(frozen=True)
class Connection:
    """The run's SSH connection as the host sees it: the client's address and the server's port."""

    client: str
    port: int


@dataclass(frozen=True)
class Chain:
    """A chain: its table's family, whether it hooks input, its policy and its rules (token lists)."""

    family: str
    input_hook: bool
    policy: str
    rules: tuple[tuple[str, ...], ...]


def tokens(text: str) -> list[str]:
    """The ruleset as tokens: comments dropped, `define`d variables replaced, newlines kept as ';'."""
    lines = [line.split("#", 1)[0] for line in text.split("\n")]
    defines: dict[str, str] = {}
    kept: list[str] = []
    for line in lines:
        found = re.match(r"\s*define\s+(\w+)\s*=\s*(.+?)\s*;?\s*$", line)
        if found:
            defines[found.group(1)] = found.group(2)
            continue
        kept.append(re.sub(r"\$(\w+)", lambda m: defines.get(m.group(1), m.group(0)), line))
    return [";" if t == "\n" else t for t in _TOKEN.findall("\n".join(kept))]


def chains(text: str) -> dict[str, Chain]:
    """Every chain of every `table FAMILY NAME { ... }` block, by `table/chain`."""
    found: dict[str, Chain] = {}
    words = tokens(text)
    i = 0
    while i < len(words):
        if words[i] == "table" and i + 3 < len(words) and words[i + 3] == "{":
            family, table = words[i + 1], words[i + 2]
            end = _closing(words, i + 3)
            found.update(_table_chains(family, table, words[i + 4:end]))
            i = end
        i += 1
    return found


def _closing(words: list[str], opening: int) -> int:
    """The index of the `}` that closes the `{` at `opening`."""
    depth = 0
    for n in range(opening, len(words)):
        depth += {"{": 1, "}": -1}.get(words[n], 0)
        if depth == 0:
            return n
    raise ValueError("unbalanced braces in the ruleset")


def _table_chains(family: str, table: str, words: list[str]) -> Iterator[tuple[str, Chain]]:
    i = 0
    while i < len(words):
        if words[i] == "chain" and i + 2 < len(words) and words[i + 2] == "{":
            end = _closing(words, i + 2)
            yield f"{table}/{words[i + 1]}", _chain(family, words[i + 3:end])
            i = end
        elif words[i] == "{":
            i = _closing(words, i)  # a set or map body
        i += 1


def _chain(family: str, words: list[str]) -> Chain:
    statements = _statements(words)
    head = [s for s in statements if s[0] in ("type", "policy")]
    hook = any("hook" in s and s[s.index("hook") + 1:s.index("hook") + 2] == ["input"] for s in head)
    policy = next((s[1] for s in head if s[0] == "policy" and len(s) > 1), "accept")
    rules = tuple(tuple(s) for s in statements if s and s[0] not in ("type", "policy"))
    return Chain(family, hook, policy, rules)


def _statements(words: list[str]) -> list[list[str]]:
    """Words split at ';' (and newlines), with `{ ... }` kept inside one statement."""
    result: list[list[str]] = [[]]
    depth = 0
    for word in words:
        depth += {"{": 1, "}": -1}.get(word, 0)
        if word == ";" and depth == 0:
            result.append([])
        else:
            result[-1].append(word)
    return [s for s in result if s]


def refusal(text: str, run: Connection) -> str:
    """Why this ruleset would drop a new SSH connection like the run's, or "" when it would not."""
    if re.search(r"^\s*(include|add|insert|create)\s", text, flags=re.M):
        return "it uses include/add/insert, which this guard cannot follow (ssh_guard: false skips it)"
    try:
        found = chains(text)
    except ValueError as exc:
        return str(exc)
    family = "ip6" if ":" in run.client else "ip"
    for name, chain in found.items():
        if chain.input_hook and chain.family in ("inet", family):
            verdict = _walk(found, name, run, 0)
            if verdict != "accept":
                return (f"chain {name} (hook input) would {verdict} a new SSH connection "
                        f"from {run.client} to port {run.port}")
    return ""


def _walk(found: dict[str, Chain], name: str, run: Connection, depth: int) -> str:
    """What the chain does with the run's SSH connection: accept, drop, reject or return."""
    chain = found.get(name)
    if chain is None or depth > MAX_DEPTH:
        return "drop (or worse: a jump this guard cannot follow)"
    table = name.split("/", 1)[0]
    for rule in chain.rules:
        hit = matches(rule, run)
        verdict = _verdict(rule)
        if hit is False or verdict is None:
            continue
        if verdict in ("jump", "goto"):
            inner = _walk(found, f"{table}/{rule[rule.index(verdict) + 1]}", run, depth + 1)
            if inner != "return" and (hit or inner != "accept"):
                return inner
            if verdict == "goto" and hit:
                return chain.policy if chain.input_hook else "return"
            continue
        if verdict == "accept" and hit:
            return "accept"
        if verdict in ("drop", "reject"):
            return verdict
    return chain.policy if chain.input_hook else "return"


def _verdict(rule: tuple[str, ...]) -> str | None:
    for word in ("accept", "drop", "reject", "jump", "goto", "return"):
        if word in rule:
            return word
    return None


def matches(rule: tuple[str, ...], run: Connection) -> bool | None:
    """Whether the rule matches the connection: True, False, or None (this reader cannot tell)."""
    result: bool | None = True
    i = 0
    while i < len(rule) and rule[i] not in ("accept", "drop", "reject", "jump", "goto", "return"):
        word = rule[i]
        if word in ("dport", "saddr", "state") and i + 1 < len(rule):
            value, i = _value(rule, i + 1)
            seen = _one(word, value, run)
            result = False if seen is False or result is False else (None if seen is None else result)
            continue
        if word == "comment":
            i += 2
            continue
        if word not in _SKIP_WORDS and not word.isdigit() and not word.startswith('"'):
            result = None if result is not False else False
        i += 1
    return result


def _value(rule: tuple[str, ...], start: int) -> tuple[list[str], int]:
    """The value after a match keyword: one word or a `{ ... }` set; and the index after it."""
    if rule[start] != "{":
        return [v for v in rule[start].split(",") if v], start + 1
    end = rule.index("}", start)
    return [v for w in rule[start + 1:end] for v in w.split(",") if v and v != ";"], end + 1


def _one(word: str, value: list[str], run: Connection) -> bool | None:
    if word == "dport":
        return _any(_port_in(v, run.port) for v in value)
    if word == "saddr":
        return _any(_addr_in(v, run.client) for v in value)
    states = {s for v in value for s in v.split(",")}  # `ct state new,established`
    return "new" in states


def _any(answers: Iterator[bool | None]) -> bool | None:
    seen = list(answers)
    return True if True in seen else (None if None in seen else False)


def _port_in(value: str, port: int) -> bool | None:
    low, _, high = value.partition("-")
    try:
        first = SERVICES.get(low) or int(low)
        return first <= port <= (int(high) if high else first)
    except ValueError:
        return None


def _addr_in(value: str, client: str) -> bool | None:
    try:
        return ipaddress.ip_address(client) in ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
