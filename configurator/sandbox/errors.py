"""The one exception type the sandbox raises for problems a user can act on."""


class SandboxError(Exception):
    """A sandbox operation failed; the message is a one-line explanation for the user."""
