"""Sample app for the app_runtime role: its version on / and /version, its health on /healthz.

Standard library only. Settings come from the environment (systemd EnvironmentFile):
APP_NAME, APP_VERSION, APP_HEALTHY (false makes /healthz answer 500), APP_BIND, APP_PORT.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import time

NAME = os.environ.get("APP_NAME", "app")
VERSION = os.environ.get("APP_VERSION", "unknown")
HEALTHY = os.environ.get("APP_HEALTHY", "true").strip().lower() not in ("false", "no", "0")
STARTED = time.time()


class Handler(http.server.BaseHTTPRequestHandler):
    """GET only; every answer is small and never cached."""

    server_version = f"{NAME}/{VERSION}"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/version":
            self.answer(200, VERSION + "\n", "text/plain")
        elif path == "/healthz":
            status = 200 if HEALTHY else 500
            self.answer(status, json.dumps({"healthy": HEALTHY, "version": VERSION}) + "\n", "application/json")
        elif path == "/":
            info = {"app": NAME, "version": VERSION, "host": socket.gethostname(), "started": STARTED}
            self.answer(200, json.dumps(info) + "\n", "application/json")
        else:
            self.answer(404, "not found\n", "text/plain")

    def answer(self, status: int, body: str, kind: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        # health probes every few seconds would drown the journal
        if not self.path.startswith("/healthz"):
            super().log_message(format, *args)


def main() -> None:
    address = (os.environ.get("APP_BIND", "127.0.0.1"), int(os.environ.get("APP_PORT", "8000")))
    server = http.server.ThreadingHTTPServer(address, Handler)
    print(f"{NAME} {VERSION} listening on {address[0]}:{address[1]} (healthy: {HEALTHY})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
