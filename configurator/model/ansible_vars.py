"""The `group_vars/` and `host_vars/` of an Ansible inventory: YAML or JSON files, or folders of them.

Ansible vault values are decrypted as they are read (a whole encrypted file, or inline `!vault`
scalars) and handed to `Secrets.reveal`, so that they are redacted like configurator's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from configurator.errors import InputError, Location
from configurator.model.loader import Loader, Mapping, Sequence, load_text, read_text
from configurator.model.vault_secrets import Secrets

EXTENSIONS = ("", ".yml", ".yaml", ".json")  # what Ansible reads in these folders; the rest is skipped
MAX_FILES = 1000  # in one group's or host's folder


@dataclass(frozen=True)
class Vaulted:
    """An inline `!vault` value as written, decrypted after parsing (the passphrase is asked only if one exists)."""

    text: str
    where: Location


class _VaultLoader(Loader):
    """The configurator loader plus Ansible's `!vault` tag."""

    def construct_vault(self, node: yaml.ScalarNode) -> Vaulted:
        return Vaulted(str(self.construct_scalar(node)), Location(self.source, node.start_mark.line + 1))


_VaultLoader.add_constructor("!vault", _VaultLoader.construct_vault)


def reveal(value: Any, secrets: Secrets) -> Any:
    """`value` with every `Vaulted` leaf decrypted (in place for containers, keeping their line numbers)."""
    if isinstance(value, Vaulted):
        from configurator.model import ansible_vault  # the cipher loads only when a value is vaulted

        plain = ansible_vault.decrypt(value.text, secrets.passphrase(), value.where)
        secrets.reveal(plain)
        return plain
    if isinstance(value, dict):
        for key in value:
            value[key] = reveal(value[key], secrets)
    elif isinstance(value, list):
        value[:] = [reveal(item, secrets) for item in value]
    return value


def load_yaml(path: Path) -> Any:
    """A YAML inventory, `!vault` values left to `reveal` (configurator's own refuses them: `refuse_vaulted`)."""
    return load_text(read_text(path), str(path), _VaultLoader)


def refuse_vaulted(value: Any) -> None:
    """Refuse `!vault` in configurator's own YAML, as every other tag is refused."""
    if isinstance(value, Vaulted):
        raise InputError("YAML tag not allowed: !vault", value.where,
                         "configurator's own files use `configure vault`; !vault is read in Ansible inventories")
    for item in value.values() if isinstance(value, dict) else value if isinstance(value, list) else ():
        refuse_vaulted(item)


def load_vars(path: Path, secrets: Secrets) -> Mapping:
    """One vars file as a mapping; a whole-file vault is decrypted and all its values are secrets."""
    from configurator.model import ansible_vault  # vars folders exist only in Ansible inventories

    text = read_text(path)
    source = str(path)
    secret = ansible_vault.is_vault(text)
    if secret:
        text = ansible_vault.decrypt(text, secrets.passphrase(), Location(source, 1))
        source = f"{path} (decrypted)"
    value = reveal(load_text(text, source, _VaultLoader), secrets)
    if value is None:
        value = Mapping()
        value.where, value.key_lines = Location(source, 1), {}
    if not isinstance(value, Mapping):
        raise InputError("a vars file must be a mapping of variable names to values", Location(source, 1))
    if secret:
        secrets.reveal(value)
    return value


class VarsFolder:
    """`group_vars/` or `host_vars/`, listed once: an inventory of 100,000 hosts costs no file lookups per host."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.names = {entry.name for entry in path.iterdir()} if path.is_dir() else set()

    def files_for(self, name: str) -> list[Path]:
        """The vars files of `name`: `NAME`, `NAME.yml`... then a folder `NAME/` (sorted, recursively)."""
        found = [self.path / f"{name}{ext}" for ext in EXTENSIONS
                 if f"{name}{ext}" in self.names and (self.path / f"{name}{ext}").is_file()]
        inner = self.path / name
        if name in self.names and inner.is_dir():
            below = sorted(p for p in inner.rglob("*") if p.is_file() and _readable_name(p.relative_to(inner)))
            if len(below) > MAX_FILES:
                raise InputError(f"more than {MAX_FILES} vars files", Location(str(inner)))
            found += below
        return found

    def loaded(self, name: str, secrets: Secrets) -> list[Mapping]:
        """Every vars file of `name`, loaded in the order they apply (later wins)."""
        return [load_vars(path, secrets) for path in self.files_for(name)]


def _readable_name(relative: Path) -> bool:
    """Not hidden, not an editor's backup, and an extension Ansible reads."""
    return not any(part.startswith(".") for part in relative.parts) and not relative.name.endswith("~") \
        and relative.suffix in EXTENSIONS


def sequence(items: dict[str, Location], where: Location) -> Sequence:
    """A line-tracking list of names (all from one file)."""
    result = Sequence(items)
    result.where, result.item_lines = where, [at.line for at in items.values()]
    return result
