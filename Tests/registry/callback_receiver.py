#!/usr/bin/env python3
"""A callback receiver for tests: a plain Python http.server standing where the broker client's port is.

It records every POST (path, headers, body size, the body parsed as JSON or kept as text) and answers
200 `{}`, refusing bodies over 10 MiB with 413 as the broker client does. `--answers 503,503,200` makes
it answer the first requests with those statuses instead (then 200): that is misbehaviour on purpose,
for retry tests, and says so in the record.

    callback_receiver.py [--answers S,S,...] [--max-lifetime S]

prints one JSON line `{"url": "http://127.0.0.1:PORT", "port": PORT}` and serves on 127.0.0.1 until
SIGTERM/SIGINT or the lifetime ends. GET /_receiver/record answers `{"requests": [...], "answers": [...]}`;
POST /_receiver/reset forgets them.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 10 * 1024 * 1024


class Receiver:
    def __init__(self, answers: list[int]) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.answers = answers
        self.sent: list[int] = []

    def handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet: the record is the output
                pass

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/_receiver/record":
                    with receiver.lock:
                        body = json.dumps({"requests": receiver.requests, "answers": receiver.sent}).encode()
                    return self._send(200, body)
                self._send(404, b'{"error":"not found"}')

            def do_POST(self) -> None:
                if self.path == "/_receiver/reset":
                    with receiver.lock:
                        receiver.requests.clear()
                        receiver.sent.clear()
                    return self._send(200, b"{}")
                length = int(self.headers.get("Content-Length") or "0")
                if length > MAX_BODY:
                    self.close_connection = True
                    return self._send(413, b'{"error":"body over 10 MiB"}')
                raw = self.rfile.read(length)
                try:
                    parsed, text = json.loads(raw), None
                except ValueError:
                    parsed, text = None, raw[:4096].decode("utf-8", "replace")
                with receiver.lock:
                    index = len(receiver.requests)
                    status = receiver.answers[index] if index < len(receiver.answers) else 200
                    receiver.sent.append(status)
                    receiver.requests.append({
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "size": len(raw),
                        "json": parsed,
                        "text": text,
                    })
                self._send(status, b"{}")

        return Handler


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="A callback receiver for tests.")
    p.add_argument("--answers", default="", help="statuses for the first requests, e.g. 503,503,200")
    p.add_argument("--max-lifetime", type=float, default=900.0, help="stop by itself after this many seconds")
    a = p.parse_args(argv)
    answers = [int(s) for s in a.answers.split(",") if s.strip()]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver(answers).handler())
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}", "port": port}), flush=True)
    try:
        stop.wait(a.max_lifetime)
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
