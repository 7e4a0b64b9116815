"""Checks after a run: verify (testinfra), drift, history."""
