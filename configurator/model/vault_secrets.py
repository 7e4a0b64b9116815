"""How a loader reaches vault values: the passphrase (asked once, lazily) and where the secrets it reveals go.

Kept apart from the Ansible vault reader so that an inventory without vault values never loads a cipher.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from configurator.errors import InputError


@dataclass(frozen=True)
class Secrets:
    """What reading Ansible vault values needs: the passphrase (asked once, lazily) and where to report secrets."""

    passphrase: Callable[[], str]
    reveal: Callable[[Iterable[str]], None] = lambda values: None


def no_passphrase() -> str:
    """The passphrase source of a load that was given none."""
    raise InputError("an ansible-vault value needs the vault passphrase",
                     hint="use --vault-password-file or $CONFIGURE_VAULT_PASSWORD")


NO_SECRETS = Secrets(no_passphrase)
