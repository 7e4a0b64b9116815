"""nftables: the SSH guard reads rulesets as data; plan turns probe text into write, load and enable."""

from __future__ import annotations

import hashlib

import pytest

from configurator.engine.actions import Run, Upload
from configurator.resources.base import decide
from configurator.resources.nftables import LOAD, LOADED, REHEARSE, Nftables
from configurator.resources.nftguard import Connection, refusal

HEAD = "#!/usr/sbin/nft -f\nflush ruleset\n"
RUN = Connection("198.18.0.1", 22)


def ruleset(*rules: str, policy: str = "drop", family: str = "inet") -> str:
    body = "\n".join(f"    {r}" for r in rules)
    return (f"{HEAD}table {family} filter {{\n  chain input {{\n"
            f"    type filter hook input priority filter; policy {policy};\n{body}\n  }}\n}}\n")


@pytest.mark.parametrize(("text", "refused"), [
    (ruleset("ct state established,related accept", "tcp dport 22 accept"), False),
    (ruleset("tcp dport { 22, 8080 } accept"), False),
    (ruleset("tcp dport {22,8080} accept"), False),
    (ruleset("tcp dport ssh ct state new accept"), False),
    (ruleset("tcp dport 1-1024 accept"), False),
    (ruleset("ip saddr 198.18.0.0/24 tcp dport 22 accept"), False),
    (HEAD + "define ADMIN = 22\n" + ruleset("tcp dport $ADMIN accept").removeprefix(HEAD), False),
    (ruleset("tcp dport 8080 accept", policy="accept"), False),
    (ruleset("jump admin").replace("  }\n}", "  }\n  chain admin {\n    tcp dport 22 accept\n  }\n}"), False),
    (ruleset("tcp dport 22 accept", family="ip6"), False),  # an IPv6 table never sees the IPv4 run
    (ruleset("tcp dport 8080 accept"), True),
    (ruleset("ct state established,related accept"), True),  # the run's own session, not the next one
    (ruleset("ip saddr 10.0.0.0/8 tcp dport 22 accept"), True),
    (ruleset("iifname \"lo\" accept"), True),  # which interface the run uses is not known here
    (ruleset("tcp dport 22 drop", "tcp dport 22 accept"), True),
    (ruleset("drop", "tcp dport 22 accept", policy="accept"), True),
    (ruleset("tcp dport 22 limit rate 3/minute drop", "tcp dport 22 accept"), True),  # may match: refused
    (ruleset("jump nowhere", "tcp dport 22 accept"), True),
    (ruleset("tcp dport 22 accept").replace("{", "{ {", 1), True),  # unbalanced
    (HEAD + "include \"/etc/nft.d/*.nft\"\n", True),
])
def test_the_guard_refuses_rulesets_that_drop_a_new_ssh_connection(text: str, refused: bool) -> None:
    assert bool(refusal(text, RUN)) is refused, refusal(text, RUN)


def test_the_guard_checks_the_port_the_run_uses() -> None:
    text = ruleset("tcp dport 2222 accept")
    assert refusal(text, Connection("198.18.0.1", 2222)) == ""
    assert "port 22" in refusal(text, RUN)


GOOD = ruleset("tcp dport 22 accept")
SUM = hashlib.sha256(GOOD.encode()).hexdigest()
SSH = "ssh=198.18.0.1 40000 198.18.0.39 22\n"
LOADING = Run(("sh", "-c", LOAD, "sh", "/etc/nftables.conf", LOADED))


@pytest.mark.parametrize(("observed", "status", "actions"), [
    (f"file_sha256={SUM}\nlive_sha256=a\nloaded_sha256=a\nenabled=enabled\n{SSH}", "ok", []),
    (f"file_sha256={SUM}\nlive_sha256=b\nloaded_sha256=a\nenabled=enabled\n{SSH}", "change", ["load"]),
    (f"file_sha256={SUM}\nlive_sha256=b\nloaded_sha256=\nenabled=enabled\n{SSH}", "change", ["load"]),
    (f"file_sha256={SUM}\nlive_sha256=a\nloaded_sha256=a\nenabled=disabled\n{SSH}", "change", ["enable"]),
    (f"file_sha256=absent\nnft=missing\nloaded_sha256=\nenabled=\n{SSH}", "change", ["write", "load", "enable"]),
    ("file_sha256=other\nlive_sha256=a\nloaded_sha256=a\nenabled=enabled\nssh=\n", "change", ["write", "load"]),
])
def test_plan(observed: str, status: str, actions: list[str]) -> None:
    step = decide(Nftables(GOOD), observed)
    assert step.status == status
    kinds = ["write" if isinstance(a, Upload) else "load" if a == LOADING else "enable" for a in step.actions]
    assert kinds == actions
    if "write" in actions:
        upload = step.actions[0]
        rehearsal = ("sh", "-c", REHEARSE, "sh", "%s", "198.18.0.1", "198.18.0.39", "22")
        assert isinstance(upload, Upload) and upload.validate == (rehearsal if "ssh=1" in observed
                                                                  else ("nft", "-c", "-f", "%s"))
        assert (upload.path, upload.content, upload.mode) == ("/etc/nftables.conf", GOOD.encode(), "0755")


def test_a_ruleset_that_would_drop_the_run_is_refused_before_any_change() -> None:
    step = decide(Nftables(ruleset("tcp dport 80 accept")), f"file_sha256=absent\n{SSH}")
    assert step.status == "unknown" and step.actions == ()
    assert "refusing the ruleset: chain filter/input (hook input) would drop" in step.summary
    assert decide(Nftables(ruleset("tcp dport 80 accept"), ssh_guard=False), f"file_sha256=absent\n{SSH}").actions


def test_without_an_ssh_connection_there_is_nothing_to_guard() -> None:
    assert decide(Nftables(ruleset()), "file_sha256=absent\nssh=\n").status == "change"


@pytest.mark.parametrize(("content", "problem"), [
    (GOOD, ""),
    ("# comment\n\nflush  ruleset;\ntable inet t {}\n", ""),
    ("table inet t {}\nflush ruleset\n", "must start with `flush ruleset`"),
])
def test_validate(content: str, problem: str) -> None:
    problems = Nftables(content).validate()
    assert (problem in problems[0]) if problem else problems == []


def test_garbled_ssh_connection_is_unreadable() -> None:
    with pytest.raises(ValueError):
        Nftables(GOOD).parse("file_sha256=absent\nssh=not a connection\n")
