"""A bounded HTTP load generator and a watcher of HAProxy's server states, for the load balancer tests.

The generator runs threads against one address on 198.18.0.0/24: some keep their connection
alive across requests, the others open a new connection for each; together they send about
`rate` requests a second, and stop when asked, after `seconds` or after `limit` requests.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.integration.engine_helpers import sh

KEEP_ALIVE_THREADS = 3
NEW_CONNECTION_THREADS = 2


@dataclass
class Answer:
    """One request: when it was sent, and the version and host that answered (or the error)."""

    at: float
    version: str = ""
    host: str = ""
    error: str = ""


@dataclass
class Load:
    """Threads sending GET / through the balancer; their answers, in the order they came."""

    address: str
    rate: float = 50.0
    seconds: float = 300.0
    limit: int = 20000
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        count = KEEP_ALIVE_THREADS + NEW_CONNECTION_THREADS
        for index in range(count):
            thread = threading.Thread(target=self._run, args=(index < KEEP_ALIVE_THREADS, count / self.rate),
                                      daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def _run(self, keep_alive: bool, period: float) -> None:
        """One thread: a request every `period` seconds until stopped, out of time or out of requests."""
        deadline = time.monotonic() + self.seconds
        connection: http.client.HTTPConnection | None = None
        while not self.stop.is_set() and time.monotonic() < deadline and len(self.answers) < self.limit:
            began = time.monotonic()
            connection = connection if keep_alive and connection is not None else self._connect()
            answer = self._get(connection, began)
            if answer.error or not keep_alive:
                connection.close()
                connection = None
            with self.lock:
                self.answers.append(answer)
            self.stop.wait(max(0.0, period - (time.monotonic() - began)))
        if connection is not None:
            connection.close()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.address, 80, timeout=10)

    @staticmethod
    def _get(connection: http.client.HTTPConnection, began: float) -> Answer:
        try:
            connection.request("GET", "/", headers={"Connection": "keep-alive"})
            response = connection.getresponse()
            body = response.read().decode()
        except (OSError, http.client.HTTPException) as exc:
            return Answer(began, error=f"{type(exc).__name__}: {exc}")
        if response.status != 200:
            return Answer(began, error=f"HTTP {response.status}: {body[:200]}")
        data = json.loads(body)
        return Answer(began, str(data["version"]), str(data["host"]))

    def failures(self) -> list[Answer]:
        return [a for a in self.answers if a.error]

    def versions(self) -> Counter[str]:
        return Counter(a.version for a in self.answers if not a.error)

    def served_last(self, seconds: float) -> dict[str, str]:
        """host -> the version it served last, over the last `seconds` of the run."""
        end = max(a.at for a in self.answers)
        return {a.host: a.version for a in self.answers if not a.error and a.at >= end - seconds}


# `show stat` of the servers, through the root-only socket, as "backend server status sessions" lines
# (blanks in a status such as "DOWN 1/2" become "_")
SHOW = ("printf 'show stat -1 4 -1\\n' | socat -t 5 - UNIX-CONNECT:/run/haproxy/api.sock"
        " | awk -F, '!/^#/ && NF { s = $18; gsub(/ /, \"_\", s); print $1, $2, s, $5 }'")


@dataclass
class Watch:
    """Polls the balancer's server states in a thread; how long each server was out of the pool."""

    balancer: Any
    period: float = 0.25
    seconds: float = 300.0
    samples: list[tuple[float, dict[str, str]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def __enter__(self) -> Watch:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=15)

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        while not self.stop.is_set() and time.monotonic() < deadline:
            states = {}
            for line in sh(self.balancer, SHOW, check=False).splitlines():
                parts = line.split()
                if len(parts) == 4:
                    states[parts[1]] = parts[2]
            self.samples.append((time.monotonic(), states))
            self.stop.wait(self.period)

    def out_of_pool(self) -> dict[str, float]:
        """server -> seconds it was seen in any state but UP (drain, maintenance, down)."""
        spent: Counter[str] = Counter()
        for (at, states), (later, _) in zip(self.samples, self.samples[1:], strict=False):
            for server, status in states.items():
                spent[server] += (later - at) if status != "UP" else 0.0
        return {server: round(spent[server], 2) for server in sorted({s for _, st in self.samples for s in st})}
