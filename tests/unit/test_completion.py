"""The generated bash completion script is valid and completes subcommands and options."""

import subprocess

from configurator.cli import commands as cli
from configurator.cli import completion


def complete(words: list[str]) -> list[str]:
    script = completion.script(cli.build_parser(), "bash")
    call = f'COMP_WORDS=({" ".join(words)}); COMP_CWORD={len(words) - 1}; _configure; echo "${{COMPREPLY[@]}}"'
    probe = f"{script}\n{call}"
    return subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True).stdout.split()


def test_subcommands_and_options():
    assert complete(["configure", "dr"]) == ["drift"]
    assert "--diff" in complete(["configure", "apply", "--di"])
    assert complete(["configure", "sandbox", "st"]) == ["status"]
