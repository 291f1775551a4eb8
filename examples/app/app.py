"""The sample application TapStack releases: a tiny web service whose /healthz names its release.

It reads what the agent gives every release: PORT (where to listen) and TAPSTACK_RELEASE (which release
this is). Standard library only, Python 3.9+ (Amazon Linux 2023's system python3), so the release needs no
dependency on the instance. It listens on loopback unless HOST says otherwise (put a load balancer in front
and set HOST=0.0.0.0 in the start command's environment).
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RELEASE = os.environ.get("TAPSTACK_RELEASE", "unreleased")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, {"status": "ok", "release": RELEASE})
        elif self.path == "/":
            self._reply(200, {"message": "hello from TapStack", "release": RELEASE})
        else:
            self._reply(404, {"error": f"no route {self.path}"})

    def _reply(self, status: int, doc: dict[str, str]) -> None:
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
    print(f"release {RELEASE} listening on port {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
