#!/usr/bin/env python3
"""A stub origin for the broker client's retry test, misbehaving on purpose: every request except
`GET /_record` is read whole and the connection is then closed without an answer (a cut connection,
which a real agent does not produce on demand). `GET /_record` answers the `snyk-request-id` and
`x-request-id` of each cut request, in order.

    client_cut_origin.py [--max-lifetime S]

prints one JSON line `{"url": "http://127.0.0.1:PORT", "port": PORT}`.
"""
from __future__ import annotations

import argparse
import json
import socketserver
import threading


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-lifetime", type=float, default=300)
    args = ap.parse_args()
    seen: list[dict] = []
    lock = threading.Lock()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline().decode("latin-1")
            headers = {}
            while True:
                h = self.rfile.readline().decode("latin-1")
                if h in ("\r\n", "\n", ""):
                    break
                name, _, value = h.partition(":")
                headers[name.strip().lower()] = value.strip()
            if line.startswith("GET /_record "):
                with lock:
                    body = json.dumps(seen).encode()
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                return
            with lock:
                seen.append({"line": line.strip(), "snyk-request-id": headers.get("snyk-request-id"),
                             "x-request-id": headers.get("x-request-id")})
            # No answer: the connection closes here.

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}", "port": port}), flush=True)
    threading.Timer(args.max_lifetime, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
