"""Large files reach the host through its connection's staging folder, never inside a step script.

Small content travels inside the step script; a file bigger than the catalog's threshold is put
in a private directory (0700) on the host first (over SFTP, or by a copy on the machine itself),
and the step script copies it into its temp file beside the target.
"""

from __future__ import annotations

from configurator.connections.base import Connection
from configurator.engine.actions import Action, Upload


class Stager:
    """Puts local files on one host; each `put` is one round trip."""

    def __init__(self, session: Connection) -> None:
        self.session = session

    def put(self, local: str) -> str:
        """Put `local` on the host; the path it landed at."""
        return self.session.put(local)

    def staged(self, actions: list[Action]) -> list[Action]:
        """The actions, with every streamed upload's file already on the host."""
        return [Upload(a.path, a.content, a.mode, a.owner, a.group, a.validate, a.source, self.put(a.source))
                if isinstance(a, Upload) and a.source else a for a in actions]

    def close(self) -> None:
        """Remove the (by then empty) staging folder."""
        self.session.unstage()
