"""Connections to hosts: SSH (transport, route, host keys, transfer) and local."""
