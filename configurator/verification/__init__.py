"""Verification internals: check results, the testinfra connection and role tests."""
