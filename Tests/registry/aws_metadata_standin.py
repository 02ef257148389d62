#!/usr/bin/env python3
"""A STAND-IN for the AWS metadata endpoints, for tests only: EC2's instance metadata service (IMDSv2) and
the ECS/EKS container credentials endpoint. Neither can run off AWS, so this serves what AWS documents:

- IMDSv2 (docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html and
  instance-metadata-security-credentials.html): `PUT /latest/api/token` with
  `X-aws-ec2-metadata-token-ttl-seconds: 1..21600` answers a session token (400 without or out of range);
  `GET /latest/meta-data/iam/security-credentials/` answers the role name and `.../<role>` its credentials
  `{"Code":"Success","LastUpdated","Type":"AWS-HMAC","AccessKeyId","SecretAccessKey","Token","Expiration"}`;
  a GET without a valid `X-aws-ec2-metadata-token` gets 401, as on an instance that requires IMDSv2.
- Container credentials (docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html,
  EKS Pod Identity): `GET /v2/credentials/<id>` answers
  `{"AccessKeyId","SecretAccessKey","Token","Expiration","RoleArn"}`; when a token is configured, a request
  whose `Authorization` is not exactly it gets 401.

The credentials served come from --credentials (a JSON file: {"instance": {...}, "container": {...}, "role":
"<instance role name>", "container_token": "<token or empty>"}), so the agent can use them against moto.

    aws_metadata_standin.py --dir DIR --credentials FILE [--max-lifetime S]

prints one JSON line ({"url", "pid"}) and serves on 127.0.0.1 until SIGTERM/SIGINT. Control endpoints:
GET /_standin/record (every request: method, path, whether a metadata token / Authorization came and
whether it was right), POST /_standin/reset, POST /_standin/mode with one of: normal, huge (a 1 MiB
answer), bad-expiration (an Expiration that is not a time), far-expiration (the year 99999),
no-role (the role list empty, as on an instance without a profile), error-code (IMDS's
`{"Code":"AssumeRoleUnauthorizedAccess",...}` form).
"""
from __future__ import annotations

import argparse
import json
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class StandIn:
    def __init__(self, creds: dict):
        self.creds = creds
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.tokens: set[str] = set()
            self.requests: list[dict] = []
            self.mode = "normal"

    def record(self, **kw):
        with self.lock:
            self.requests.append({"t": time.time(), **kw})

    def credentials_body(self, which: str) -> bytes:
        c = dict(self.creds[which])
        if self.mode == "huge":
            return b'{"Padding":"' + b"x" * (1 << 20) + b'"}'
        if self.mode == "bad-expiration":
            c["Expiration"] = "tomorrow at noon"
        if self.mode == "far-expiration":
            c["Expiration"] = "99999-01-01T00:00:00Z"
        if self.mode == "error-code" and which == "instance":
            return json.dumps({"Code": "AssumeRoleUnauthorizedAccess", "LastUpdated": "2026-01-01T00:00:00Z",
                               "Message": "EC2 cannot assume the role agent-instance"}).encode()
        if which == "instance":
            body = {"Code": "Success", "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "Type": "AWS-HMAC", **c}
        else:
            body = {**c, "RoleArn": "arn:aws:iam::123456789012:role/agent-instance"}
        return json.dumps(body).encode()


def make_handler(s: StandIn):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "aws-metadata-standin/1"

        def log_message(self, *a):
            pass

        def send(self, status: int, body: bytes, ctype: str = "text/plain"):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(min(n, 1 << 16))

        def do_PUT(self):
            self.body()
            if self.path != "/latest/api/token":
                return self.send(404, b"Not Found")
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            ok = ttl is not None and ttl.isdigit() and 1 <= int(ttl) <= 21600
            s.record(method="PUT", path=self.path, ttl=ttl, ok=ok)
            if not ok:
                return self.send(400, b"Bad Request")
            token = "imds-" + secrets.token_urlsafe(24)
            with s.lock:
                s.tokens.add(token)
            self.send(200, token.encode())

        def do_POST(self):
            data = self.body()
            if self.path == "/_standin/reset":
                s.reset()
                return self.send(200, b'{"reset":true}', "application/json")
            if self.path == "/_standin/mode":
                with s.lock:
                    s.mode = data.decode().strip() or "normal"
                return self.send(200, b'{"ok":true}', "application/json")
            self.send(405, b"Method Not Allowed")

        def do_GET(self):
            if self.path == "/_standin/record":
                with s.lock:
                    body = json.dumps({"requests": s.requests, "mode": s.mode}).encode()
                return self.send(200, body, "application/json")
            prefix = "/latest/meta-data/iam/security-credentials/"
            if self.path.startswith(prefix):
                token = self.headers.get("X-aws-ec2-metadata-token")
                with s.lock:
                    valid = token in s.tokens
                s.record(method="GET", path=self.path, imds_token=token is not None, imds_token_valid=valid)
                if not valid:
                    return self.send(401, b"Unauthorized")
                role = s.creds["role"]
                rest = self.path[len(prefix):]
                if rest == "":
                    return self.send(200, b"" if s.mode == "no-role" else role.encode())
                if rest != role:
                    return self.send(404, b"Not Found")
                return self.send(200, s.credentials_body("instance"), "text/plain")
            if self.path.startswith("/v2/credentials/"):
                want = s.creds.get("container_token") or ""
                got = self.headers.get("Authorization")
                ok = not want or got == want
                s.record(method="GET", path=self.path, authorization=got is not None, authorization_valid=ok)
                if not ok:
                    return self.send(401, json.dumps({"message": "invalid authorization token"}).encode(), "application/json")
                return self.send(200, s.credentials_body("container"), "application/json")
            s.record(method="GET", path=self.path)
            self.send(404, b"Not Found")

    return H


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--credentials", required=True)
    p.add_argument("--max-lifetime", type=float, default=900)
    a = p.parse_args()
    s = StandIn(json.loads(Path(a.credentials).read_text()))
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(s))
    server.daemon_threads = True
    info = {"url": f"http://127.0.0.1:{server.server_address[1]}", "pid": __import__("os").getpid()}
    Path(a.dir).mkdir(parents=True, exist_ok=True)
    (Path(a.dir) / "standin.json").write_text(json.dumps(info) + "\n")
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    signal.sigtimedwait({signal.SIGTERM, signal.SIGINT}, a.max_lifetime)
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
