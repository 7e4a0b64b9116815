"""`configure completion bash|zsh`: a shell completion script generated from the argument parser."""

from __future__ import annotations

import argparse
from typing import Any

BASH = """# bash completion for configure; install: configure completion bash > /etc/bash_completion.d/configure
_configure() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} sub=${{COMP_WORDS[1]}}
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "{commands}" -- "$cur")); return
    fi
    case "$sub" in
{cases}
    esac
    COMPREPLY=($(compgen -f -- "$cur"))
}}
complete -o filenames -F _configure configure
"""

ZSH = """#compdef configure
# zsh completion for configure; install: configure completion zsh > "${{fpath[1]}}/_configure"
autoload -U bashcompinit && bashcompinit
{bash}"""


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Each subcommand and the words it takes (options and nested subcommands)."""
    found: dict[str, list[str]] = {}
    for action in parser._actions:  # argparse has no public way to walk subcommands
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                words = [o for a in sub._actions for o in a.option_strings if o.startswith("--")]
                words += [n for a in sub._actions if isinstance(a, argparse._SubParsersAction) for n in a.choices]
                found[name] = sorted(set(words))
    return found


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for `shell` (bash or zsh)."""
    subs = _subcommands(parser)
    cases = "\n".join(f'        {name}) if [[ "$cur" == -* ]] || [ "$COMP_CWORD" -eq 2 ]; then '
                      f'COMPREPLY=($(compgen -W "{" ".join(words)}" -- "$cur")); '
                      f'[ ${{#COMPREPLY[@]}} -gt 0 ] && return; fi ;;' for name, words in subs.items())
    bash = BASH.format(commands=" ".join(sorted(subs)), cases=cases)
    return bash if shell == "bash" else ZSH.format(bash=bash)


def add_parser(sub: Any, name: str, text: str) -> None:
    """Register `configure completion bash|zsh`."""
    p = sub.add_parser(name, help=text)
    p.add_argument("shell", choices=["bash", "zsh"])
    p.set_defaults(func=cmd_completion)


def cmd_completion(args: argparse.Namespace) -> int:
    """Print the completion script."""
    from configurator.cli.commands import build_parser  # every command's parser, loaded in full

    print(script(build_parser(), args.shell), end="")
    return 0
