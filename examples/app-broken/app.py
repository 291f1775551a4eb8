"""A release that starts but never becomes healthy: /healthz answers 500.

What the tests release to prove that each instance refuses it, returns to the release it served before by
itself, and reports ``unhealthy`` with the reason.
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RELEASE = os.environ.get("TAPSTACK_RELEASE", "unreleased")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, doc = (500, {"status": "broken", "release": RELEASE, "error": "the database is unreachable"})
        if self.path != "/healthz":
            status, doc = 404, {"error": f"no route {self.path}"}
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"{self.address_string()} {format % args}", flush=True)


def main() -> None:
    server = ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
