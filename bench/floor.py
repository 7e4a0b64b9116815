"""The floor: the least a converged check can cost, timed as a whole process.

One paramiko connection per host (parallel threads, TCP_NODELAY, strict known_hosts), one
batched probe script run with one exec, output read, connection closed. No planning, no
templates, no report: everything a converged run must do at the least.

    python floor.py --key KEY --known-hosts FILE --script probe.sh ADDRESS[:PORT]...

`connect` and `run_script` are reused by the benchmark to prepare and reset the hosts.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time

import paramiko


def split(target: str) -> tuple[str, int]:
    """`address` or `address:port` -> (address, port)."""
    address, _, port = target.partition(":")
    return address, int(port or 22)


def known_name(address: str, port: int) -> str:
    """How known_hosts names a host: its address, or `[address]:port` off port 22."""
    return address if port == 22 else f"[{address}]:{port}"


def connect(target: str, key: str | paramiko.PKey, known_hosts: str | paramiko.HostKeys,
            timeout: float = 10.0) -> paramiko.SSHClient:
    """An SSH client for root@address[:port], checked against known_hosts (`[address]:port` off 22).

    `on_all` passes the key and known_hosts read once: a client that reads them itself parses every
    line of known_hosts for every host (about 16 ms a host with the 360 lines of 300 light hosts).
    """
    address, port = split(target)
    sock = socket.create_connection((address, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client = paramiko.SSHClient()
    if isinstance(known_hosts, str):
        client.load_host_keys(known_hosts)
    else:
        name = known_name(address, port)
        for key_type, host_key in (known_hosts.lookup(name) or {}).items():
            client.get_host_keys().add(name, key_type, host_key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    identity = {"key_filename": key} if isinstance(key, str) else {"pkey": key}
    client.connect(address, port=port, username="root", sock=sock, look_for_keys=False, allow_agent=False,
                   timeout=timeout, banner_timeout=timeout, auth_timeout=timeout, **identity)  # type: ignore[arg-type]
    return client


def run_script(client: paramiko.SSHClient, script: str, timeout: float = 600.0) -> tuple[int, str]:
    """Run `script` with sh in one exec; return its exit status and combined output."""
    channel = client.get_transport().open_session(timeout=timeout)  # type: ignore[union-attr]
    channel.set_combine_stderr(True)
    channel.settimeout(timeout)
    channel.exec_command(script)
    chunks = []
    while True:
        data = channel.recv(65536)
        if not data:
            break
        chunks.append(data)
    return channel.recv_exit_status(), b"".join(chunks).decode("utf-8", "replace")


def on_all(addresses: list[str], key: str, known_hosts: str, script: str,
           limit: int = 0) -> dict[str, tuple[int, str]]:
    """Run `script` on every address in parallel threads (at most `limit` at once when > 0)."""
    results: dict[str, tuple[int, str]] = {}
    gate = threading.BoundedSemaphore(limit or len(addresses))
    pkey, known = paramiko.PKey.from_path(key), paramiko.HostKeys(known_hosts)

    def one(address: str) -> None:
        with gate:
            try:
                client = connect(address, pkey, known)
                try:
                    results[address] = run_script(client, script)
                finally:
                    client.close()
            except Exception as exc:  # noqa: BLE001 - report every host, whatever went wrong
                results[address] = (255, f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=one, args=(a,)) for a in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True)
    parser.add_argument("--known-hosts", required=True)
    parser.add_argument("--script", required=True, help="file with the probe script")
    parser.add_argument("--parallel", type=int, default=0, help="hosts at once (default 0: all)")
    parser.add_argument("addresses", nargs="+", metavar="ADDRESS[:PORT]")
    args = parser.parse_args(argv)
    with open(args.script, encoding="utf-8") as handle:
        script = handle.read()
    started = time.perf_counter()
    results = on_all(args.addresses, args.key, args.known_hosts, script, limit=args.parallel)
    failed = 0
    for address in args.addresses:
        status, output = results[address]
        failed += status != 0
        print(f"{address} status={status} lines={output.count(chr(10))}")
    print(f"{len(args.addresses)} hosts probed in {time.perf_counter() - started:.3f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
