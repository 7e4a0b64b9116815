"""configurator: agentless server configuration over SSH."""

__version__ = "0.1.0"
