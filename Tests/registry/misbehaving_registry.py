#!/usr/bin/env python3
"""A deliberately MISBEHAVING stub registry, for tests only.

It exists only for misbehaviour that the real registry (docker-registry, distribution 2.8.2, which every
other registry test uses through fixture.py) will not produce on demand: cross-origin blob redirects,
429 and 503 that then succeed, a connection cut mid-blob followed by Range resumption, relative and
missing `Link` headers, opaque cursors, a 401 asking for an extra scope after a first token, plain-text
500s, oversized and schema1 manifests, digests that do not match, and a token realm pointing at the cloud
metadata address; and, for the hostile-input tests, a manifest redirected to another origin that then asks
for credentials, a cross-origin `Link`, overflowing `expires_in` / `Retry-After` / descriptor sizes, a token
realm written as a decimal IPv4 address, and a blob sent one byte a second; and, for the per-host concurrency
tests, a scenario that counts the requests in flight at once and one that answers 429 then counts what follows. It records every
`Authorization` value it receives, per origin (`authorizations` in the record). It is not a registry implementation: each scenario lives at its own path and does
exactly one thing. Every scenario, its path and what a correct client does is in Tests/registry/README.md.

    misbehaving_registry.py --dir DIR [--max-lifetime S]

prints one JSON object (also written to DIR/stub.json) and serves on 127.0.0.1 until SIGTERM/SIGINT.
Control endpoints on the main port: GET /_stub/info, GET /_stub/record, POST /_stub/reset.

Module: `with MisbehavingRegistry(dir) as stub: stub.info, stub.record(), stub.reset()`.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture import MT_OCI_MANIFEST, Image, Layer, digest_of, jbytes, write_atomic  # noqa: E402

SERVICE = "misbehaving-stub"
METADATA_REALM = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
MT_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
HUGE_SIZE = 4 * 1024 * 1024 + 4096  # over the 4 MiB manifest limit that distribution and containerd use
CATALOG = ["baddigest", "cut", "denied", "huge", "huge-chunked", "metadata-realm", "oversize", "paged",
           "plaintext500", "ratelimit", "redirect", "schema1", "scoped", "unavailable", "wrong-content-type"]
# Hostile scenarios (HostileRegistryTests); served like the others but kept out of the catalog listing.
HOSTILE = ["xredirect", "bigexpiry", "negexpiry", "retryafter-huge", "retryafter-date", "bigsize", "negsize",
           "decimal-realm", "slow", "badlength", "nameredirect", "endless"]
# Pacing scenarios (HostLimiter tests): `crowd` holds each request until as many are in flight as
# POST /_stub/crowd-hold asked for (5 s at most), so the most seen at once is the client's limit exactly;
# the last of the requests it announced ("<hold> <total>") lets the rest go at once;
# `throttle` answers its first request 429 with `Retry-After: 1` and holds the others 0.3 s. Both count
# the requests in flight when each arrives (a request stops counting before its answer is written, so
# the count never runs ahead of the client's). Not in the catalog.
PACING = ["crowd", "throttle"]
HUGE_INT = "9223372036854775807"
DECIMAL_REALM = "http://2852039166/latest/meta-data/"  # 169.254.169.254 written as one decimal number
NEXUS_REPOS = [f"nexus-repo-{i}" for i in range(5)]
NEXUS_TAGS = [f"v{i}" for i in range(5)]
PAGED_TAGS = [f"t{i:02d}" for i in range(23)]
# Names no distribution registry may hold, between valid ones (a broken or hostile registry's listing).
ODD_REPOS = ["good/one", "Bad Name", "x" * 300, "evil/\u001b[2J", "good/two"]
ODD_TAGS = ["1.0", "bad tag", "-lead", "t" * 200, "2.0"]
# Scenarios whose first request misbehaves and whose later requests succeed (until POST /_stub/reset).
THEN_SUCCESS = {"ratelimit": 429, "unavailable": 503}


def _image(name: str, payload_size: int = 4096) -> Image:
    """A small real image per scenario: one gzip layer holding one file of deterministic random bytes."""
    rnd = random.Random(name)
    return Image([Layer([("data", None), (f"data/{name}.bin", rnd.randbytes(payload_size))])],
                 {"os": "linux", "architecture": "amd64"})


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.counters: dict[str, int] = {}
            self.requests: list[dict] = []
            self.second_origin: list[dict] = []
            self.token_requests: list[dict] = []
            self.cut_ranges: list[str | None] = []
            self.tokens: dict[str, list[str]] = {}
            self.huge_bytes_sent: dict[str, int] = {}
            self.authorizations: list[dict] = []
            self.slow_bytes_sent = 0
            self.endless_bytes_sent = 0
            self.in_flight: dict[str, int] = {}
            self.max_in_flight: dict[str, int] = {}
            self.paced: list[dict] = []
            self.throttled_at: float | None = None
            self.crowd_hold = 0
            self.crowd_gate = 0
            self.crowd_total = 0

    def bump(self, key: str) -> int:
        """Returns how many requests this key had seen before this one."""
        with self.lock:
            n = self.counters.get(key, 0)
            self.counters[key] = n + 1
            return n

    def snapshot(self) -> dict:
        with self.lock:
            return {"counters": dict(self.counters), "requests": list(self.requests),
                    "second_origin": list(self.second_origin),
                    "second_origin_saw_authorization": any(r["authorization"] for r in self.second_origin),
                    "token_requests": list(self.token_requests), "cut_ranges": list(self.cut_ranges),
                    "huge_bytes_sent": dict(self.huge_bytes_sent), "authorizations": list(self.authorizations),
                    "slow_bytes_sent": self.slow_bytes_sent, "endless_bytes_sent": self.endless_bytes_sent, "max_in_flight": dict(self.max_in_flight),
                    "paced": list(self.paced), "throttled_at": self.throttled_at}

    def saw_authorization(self, origin: str, h) -> None:
        """Every Authorization value, in full, with the origin ("main" or "second") and path it reached."""
        v = h.headers.get("Authorization")
        if v is not None:
            with self.lock:
                self.authorizations.append({"origin": origin, "path": urllib.parse.urlsplit(h.path).path, "value": v})


def _auth_scheme(h) -> str | None:
    v = h.headers.get("Authorization")
    return v.split(" ", 1)[0].lower() if v else None


class MisbehavingRegistry:
    def __init__(self, dir: str | os.PathLike):
        self.dir = Path(dir).resolve()
        self.state = State()
        self.images = {name: _image(name) for name in CATALOG + HOSTILE + PACING}
        self.images["cut"] = _image("cut", 1 << 20)  # 1 MiB of incompressible bytes: cut at half
        self.images["redirect"] = _image("redirect", 256 << 10)
        self.blobs: dict[str, tuple[str, bytes]] = {}  # digest -> (repo, bytes)
        for name, img in self.images.items():
            for d, data in img.blobs():
                self.blobs[d] = (name, data)
        self.huge = self._huge_manifest()
        self.schema1 = self._schema1_manifest()
        self.quay_cursors: dict[str, int] = {}
        stub = self

        class Main(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "misbehaving-stub/1"
            timeout = 30
            disable_nagle_algorithm = True

            def log_message(self, *a):
                pass

            def do_GET(self):
                stub._main(self, "GET")

            def do_HEAD(self):
                stub._main(self, "HEAD")

            def do_POST(self):
                stub._main(self, "POST")

        class Second(Main):
            server_version = "misbehaving-object-store/1"

            def do_GET(self):
                stub._second(self, "GET")

            def do_HEAD(self):
                stub._second(self, "HEAD")

            def do_POST(self):
                stub._send(self, 405, b"", "text/plain")

        self.main = ThreadingHTTPServer(("127.0.0.1", 0), Main)
        self.second = ThreadingHTTPServer(("127.0.0.1", 0), Second)
        for s in (self.main, self.second):
            s.daemon_threads = True
        self.port, self.second_port = self.main.server_address[1], self.second.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.second_url = f"http://127.0.0.1:{self.second_port}"
        self.threads: list[threading.Thread] = []
        self.info = self._info()

    # -------------------------------------------------------------------------------------------- lifecycle
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self) -> dict:
        self.dir.mkdir(parents=True, exist_ok=True)
        for s in (self.main, self.second):
            t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
            t.start()
            self.threads.append(t)
        write_atomic(self.dir / "stub.json", json.dumps(self.info, indent=1) + "\n")
        return self.info

    def stop(self) -> None:
        for s in (self.main, self.second):
            s.shutdown()
            s.server_close()
        for t in self.threads:
            t.join(timeout=5)

    def record(self) -> dict:
        return self.state.snapshot()

    def reset(self) -> None:
        self.state.reset()

    def _info(self) -> dict:
        imgs = {}
        for name, img in self.images.items():
            layer = img.layers[0]
            imgs[name] = {"reference": f"{name}:latest", "manifest_digest": img.digest, "manifest_size": img.size,
                          "config": {"digest": img.config_digest, "size": len(img.config)},
                          "layer": {"digest": layer.digest, "size": layer.size, "mediaType": layer.media_type,
                                    "diff_id": layer.diff_id}}
        return {"url": self.url, "port": self.port, "host": f"127.0.0.1:{self.port}",
                "second_origin_url": self.second_url, "second_origin_port": self.second_port,
                "token_url": f"{self.url}/_stub/token", "service": SERVICE, "pid": os.getpid(),
                "dir": str(self.dir), "metadata_realm": METADATA_REALM,
                "nexus_base": f"{self.url}/repository/nexus", "quay_base": f"{self.url}/quay",
                "oddnames_base": f"{self.url}/oddnames",
                "imds_base": f"{self.url}/imds", "images": imgs,
                "huge_manifest_size": len(self.huge), "schema1_digest": digest_of(self.schema1),
                "xlink_base": f"{self.url}/xlink", "decimal_realm": DECIMAL_REALM}

    # -------------------------------------------------------------------------------------------- helpers
    @staticmethod
    def _send(h, status: int, body: bytes, ctype: str | None = "application/json", headers: dict | None = None,
              head: bool = False) -> None:
        h.send_response(status)
        if ctype:
            h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if not head:
            h.wfile.write(body)

    def _error(self, h, status: int, code: str, message: str, headers: dict | None = None, head=False) -> None:
        self._send(h, status, jbytes({"errors": [{"code": code, "message": message, "detail": None}]}),
                   headers=headers, head=head)

    def _huge_manifest(self) -> bytes:
        img = self.images["huge"]
        m = json.loads(img.manifest)
        m["annotations"] = {"org.example.padding": ""}
        pad = HUGE_SIZE - len(jbytes(m))
        m["annotations"]["org.example.padding"] = "x" * pad
        out = jbytes(m)
        assert len(out) == HUGE_SIZE
        return out

    def _schema1_manifest(self) -> bytes:
        layer = self.images["schema1"].layers[0]
        return json.dumps({
            "schemaVersion": 1, "name": "schema1", "tag": "latest", "architecture": "amd64",
            "fsLayers": [{"blobSum": layer.digest}],
            "history": [{"v1Compatibility": json.dumps({"id": "a" * 64, "created": "2016-01-01T00:00:00Z",
                                                        "architecture": "amd64", "os": "linux"})}],
            "signatures": [{"header": {"jwk": {"crv": "P-256", "kid": "STUB:SIGN", "kty": "EC", "x": "AA", "y": "AA"},
                                       "alg": "ES256"}, "signature": "c3R1Yg", "protected": "e30"}],
        }, indent=3).encode()

    def _log(self, h, method: str, status_hint: str = "") -> None:
        u = urllib.parse.urlsplit(h.path)
        with self.state.lock:
            self.state.requests.append({"t": time.time(), "method": method, "path": u.path, "query": u.query,
                                        "authorization": _auth_scheme(h), "range": h.headers.get("Range")})

    # -------------------------------------------------------------------------------------------- main origin
    def _main(self, h, method: str) -> None:
        try:
            self._dispatch(h, method)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    def _dispatch(self, h, method: str) -> None:
        u = urllib.parse.urlsplit(h.path)
        path, q = u.path, urllib.parse.parse_qs(u.query, keep_blank_values=True)
        head = method == "HEAD"
        if path.startswith("/_stub/"):
            return self._control(h, method, path, q)
        if path.startswith("/objects/"):
            # Asked as a forward proxy (absolute-form request) for the second origin's objects.
            return self._second(h, method)
        self._log(h, method)
        self.state.saw_authorization("main", h)
        if path.startswith("/xlink/v2/"):
            return self._xlink(h, path[len("/xlink"):], q, head)
        mt = re.match(r"^/v2/(tok\d+)/tags/list$", path)
        if mt:
            if not self._bearer_any(h, mt[1], head):
                return
            return self._send(h, 200, jbytes({"name": mt[1], "tags": ["latest"]}), head=head)
        if path.startswith("/imds/v2/") or path == "/imds/v2":
            return self._challenge(h, METADATA_REALM, "repository:metadata-realm:pull", head=head)
        if path.startswith("/repository/nexus/v2/"):
            return self._nexus(h, path[len("/repository/nexus"):], q, head)
        if path.startswith("/quay/v2/"):
            return self._quay(h, path[len("/quay"):], q, head)
        if path.startswith("/oddnames/v2/"):
            return self._oddnames(h, path[len("/oddnames"):], q, head)
        if method == "POST":
            return self._error(h, 405, "UNSUPPORTED", "the stub is read-only")
        if path in ("/v2/", "/v2"):
            return self._send(h, 200, b"{}", head=head)
        if path == "/v2/_catalog":
            return self._page(h, "/v2/_catalog", "repositories", CATALOG, q, head, link=True)
        m = re.match(r"^/v2/(?P<name>[a-z0-9-]+)/(?P<kind>manifests|blobs|tags)/(?P<ref>[^/]+)$", path)
        if not m:
            return self._error(h, 404, "NAME_UNKNOWN", f"no scenario at {path}", head=head)
        name, kind, ref = m["name"], m["kind"], m["ref"]
        if name not in self.images:
            return self._error(h, 404, "NAME_UNKNOWN", f"repository {name} not known", head=head)
        if name == "xredirect" and not h.headers.get("Authorization"):
            return self._send(h, 401, jbytes({"errors": [{"code": "UNAUTHORIZED", "message": "credentials required"}]}),
                              headers={"WWW-Authenticate": f'Basic realm="{SERVICE}"'}, head=head)
        if kind == "tags":
            if name == "paged" and ref == "list":
                return self._page(h, "/v2/paged/tags/list", "tags", PAGED_TAGS, q, head, link=True, name="paged")
            return self._send(h, 200, jbytes({"name": name, "tags": ["latest"]}), head=head)

        if name in PACING:
            return self._paced(h, name, kind, ref, head)
        n = self.state.bump(name)
        if name in HOSTILE:
            return self._hostile(h, name, kind, ref, head)
        if name in THEN_SUCCESS and n == 0:
            if name == "ratelimit":
                return self._error(h, 429, "TOOMANYREQUESTS", "rate limit exceeded, retry after 1 s",
                                   {"Retry-After": "1"}, head)
            return self._error(h, 503, "UNAVAILABLE", "service unavailable, try again", head=head)
        if name == "redirect" and kind == "blobs":
            if not h.headers.get("Authorization"):
                return self._send(h, 401, jbytes({"errors": [{"code": "UNAUTHORIZED", "message": "credentials required"}]}),
                                  headers={"WWW-Authenticate": f'Basic realm="{SERVICE}"'}, head=head)
            if ref not in self.blobs:
                return self._error(h, 404, "BLOB_UNKNOWN", f"blob {ref} unknown", head=head)
            loc = f"{self.second_url}/objects/{ref[7:]}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=stub"
            return self._send(h, 307, b"", None, {"Location": loc}, head)
        if name in ("scoped", "denied"):
            if not self._bearer_ok(h, name, head):
                return
        if name == "metadata-realm":
            return self._challenge(h, METADATA_REALM, "repository:metadata-realm:pull", head=head)
        if name == "plaintext500":
            return self._send(h, 500, b"upstream proxy error: connection refused by backend 10.0.0.7:8081\n",
                              "text/plain; charset=utf-8", head=head)
        if kind == "manifests":
            return self._manifest(h, name, ref, head)
        return self._blob(h, name, ref, head)

    def _control(self, h, method, path, q) -> None:
        if path == "/_stub/info" and method in ("GET", "HEAD"):
            return self._send(h, 200, jbytes(self.info), head=method == "HEAD")
        if path == "/_stub/record" and method in ("GET", "HEAD"):
            return self._send(h, 200, jbytes(self.record()), head=method == "HEAD")
        if path == "/_stub/reset" and method == "POST":
            n = int(h.headers.get("Content-Length") or 0)
            h.rfile.read(min(n, 1 << 16))
            self.reset()
            return self._send(h, 200, b'{"reset":true}')
        if path == "/_stub/crowd-hold" and method == "POST":
            n = int(h.headers.get("Content-Length") or 0)
            hold, _, total = (h.rfile.read(min(n, 64)).decode() or "0").partition(" ")
            with self.state.lock:
                self.state.crowd_hold, self.state.crowd_total = int(hold), int(total or 0)
            return self._send(h, 200, b'{"ok":true}')
        if path.startswith("/_stub/token-") and method == "GET":
            # Token endpoints whose expires_in overflows (bigexpiry) or is negative (negexpiry).
            self.state.saw_authorization("main", h)
            expires = {"bigexpiry": HUGE_INT, "negexpiry": "-5"}.get(path[len("/_stub/token-"):], "300")
            tok = "stubtok-" + secrets.token_hex(8)
            with self.state.lock:
                self.state.tokens[tok] = [s for v in q.get("scope", []) for s in v.split(" ") if s]
            body = b'{"token":"%s","expires_in":%s}' % (tok.encode(), expires.encode())
            return self._send(h, 200, body)
        if path == "/_stub/token" and method == "GET":
            self.state.saw_authorization("main", h)
            scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
            tok = "stubtok-" + secrets.token_hex(8)
            with self.state.lock:
                self.state.tokens[tok] = scopes
                self.state.token_requests.append({"t": time.time(), "scopes": scopes,
                                                  "service": (q.get("service") or [None])[0],
                                                  "authorization": _auth_scheme(h)})
            return self._send(h, 200, jbytes({"token": tok, "access_token": tok, "expires_in": 300}))
        return self._error(h, 404, "NOT_FOUND", f"no control endpoint {method} {path}")

    def _challenge(self, h, realm: str, scope: str, error: str | None = None, head=False) -> None:
        v = f'Bearer realm="{realm}",service="{SERVICE}",scope="{scope}"'
        if error:
            v += f',error="{error}"'
        self._send(h, 401, jbytes({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required",
                                               "detail": [{"Type": "repository", "Action": "pull"}]}]}),
                   headers={"WWW-Authenticate": v}, head=head)

    def _bearer_ok(self, h, name: str, head: bool) -> bool:
        realm = f"{self.url}/_stub/token"
        first = f"repository:{name}:pull"
        authz = h.headers.get("Authorization") or ""
        if not authz.lower().startswith("bearer "):
            self._challenge(h, realm, first, head=head)
            return False
        with self.state.lock:
            scopes = self.state.tokens.get(authz.split(" ", 1)[1].strip())
        if scopes is None:
            self._challenge(h, realm, first, "invalid_token", head)
            return False
        if name == "denied":  # whatever the token, never enough: the client must stop, not loop
            self._challenge(h, realm, first, "insufficient_scope", head)
            return False
        need = {first, "repository:scoped-extra:pull"}
        if not need <= set(scopes):
            self._challenge(h, realm, " ".join(sorted(need)), "insufficient_scope", head)
            return False
        return True

    def _page(self, h, path: str, key: str, items: list[str], q, head: bool, link: bool, name: str | None = None,
              prefix: str = "") -> None:
        try:
            n = int((q.get("n") or ["100"])[0])
        except ValueError:
            return self._error(h, 400, "PAGINATION_NUMBER_INVALID", "n is not a number", head=head)
        last = (q.get("last") or [""])[0]
        start = 0
        if last:
            start = next((i + 1 for i, x in enumerate(items) if x == last), None)
            if start is None:
                start = next((i for i, x in enumerate(items) if x > last), len(items))
        page = items[start:start + max(n, 0)]
        body = {"name": name, key: page} if name else {key: page}
        headers = {}
        if link and page and start + len(page) < len(items):
            qs = urllib.parse.urlencode({"last": page[-1], "n": n})
            headers["Link"] = f'<{prefix}{path}?{qs}>; rel="next"'
        self._send(h, 200, jbytes(body), headers=headers, head=head)

    def _nexus(self, h, path: str, q, head: bool) -> None:
        """Nexus-like, under a path prefix: full pages never carry Link; the client falls back to last=."""
        if path in ("/v2/", "/v2"):
            return self._send(h, 200, b"{}", head=head)
        if path == "/v2/_catalog":
            return self._page(h, path, "repositories", NEXUS_REPOS, q, head, link=False)
        m = re.match(r"^/v2/(nexus-repo-\d)/tags/list$", path)
        if m and m[1] in NEXUS_REPOS:
            return self._page(h, path, "tags", NEXUS_TAGS, q, head, link=False, name=m[1])
        return self._error(h, 404, "NAME_UNKNOWN", f"nothing at {path}", head=head)

    def _quay(self, h, path: str, q, head: bool) -> None:
        """Quay-like opaque cursor: Link carries next_page=<opaque>; a rebuilt last= cursor gets 400."""
        if path in ("/v2/", "/v2"):
            return self._send(h, 200, b"{}", head=head)
        if path != "/v2/_catalog":
            return self._error(h, 404, "NAME_UNKNOWN", f"nothing at {path}", head=head)
        if "last" in q:
            return self._error(h, 400, "INVALID_REQUEST", "this registry pages with an opaque next_page cursor",
                               head=head)
        n = int((q.get("n") or ["2"])[0])
        start = 0
        if "next_page" in q:
            with self.state.lock:
                start = self.quay_cursors.get(q["next_page"][0], -1)
            if start < 0:
                return self._error(h, 400, "INVALID_REQUEST", "unknown next_page cursor", head=head)
        page = CATALOG[start:start + n]
        headers = {}
        if start + len(page) < len(CATALOG):
            cur = secrets.token_urlsafe(12)
            with self.state.lock:
                self.quay_cursors[cur] = start + len(page)
            headers["Link"] = f'</quay/v2/_catalog?n={n}&next_page={cur}>; rel="next"'
        self._send(h, 200, jbytes({"repositories": page}), headers=headers, head=head)

    def _oddnames(self, h, path: str, q, head: bool) -> None:
        """Listings that mix names no registry may hold (spaces, 300 characters, escapes) with valid ones."""
        if path in ("/v2/", "/v2"):
            return self._send(h, 200, b"{}", head=head)
        if path == "/v2/_catalog":
            return self._send(h, 200, jbytes({"repositories": ODD_REPOS}), head=head)
        if path == "/v2/good/one/tags/list":
            return self._send(h, 200, jbytes({"name": "good/one", "tags": ODD_TAGS}), head=head)
        return self._error(h, 404, "NAME_UNKNOWN", f"nothing at {path}", head=head)

    def _manifest(self, h, name: str, ref: str, head: bool) -> None:
        img = self.images[name]
        if ref not in ("latest", img.digest) and not (name == "schema1" and ref == digest_of(self.schema1)):
            return self._error(h, 404, "MANIFEST_UNKNOWN", f"manifest {name}:{ref} unknown", head=head)
        if name == "schema1":
            body = self.schema1
            return self._send(h, 200, body, MT_SCHEMA1, {"Docker-Content-Digest": digest_of(body)}, head)
        if name in ("huge", "huge-chunked"):
            return self._huge(h, name, head)
        ctype = "application/octet-stream" if name == "wrong-content-type" else img.media_type
        self._send(h, 200, img.manifest, ctype, {"Docker-Content-Digest": img.digest}, head)

    def _paced(self, h, name: str, kind: str, ref: str, head: bool) -> None:
        st = self.state
        n = st.bump(name)
        with st.cond:
            cur = st.in_flight.get(name, 0) + 1
            st.in_flight[name] = cur
            st.max_in_flight[name] = max(st.max_in_flight.get(name, 0), cur)
            st.paced.append({"name": name, "n": n, "t": time.time(), "in_flight": cur})
            if name == "crowd":
                # The request that makes the crowd full lets every waiting one go (a new gate), even if
                # some have left by the time the others wake.
                if cur >= st.crowd_hold or (st.crowd_total and n + 1 >= st.crowd_total):
                    st.crowd_gate += 1
                    st.cond.notify_all()
                else:
                    gate, deadline = st.crowd_gate, time.time() + 5
                    while st.crowd_gate == gate and time.time() < deadline:
                        st.cond.wait(max(0.0, deadline - time.time()))
        if name == "throttle" and n > 0:
            # Held until a third request is in flight at once (more than the halved allowance of 2: a
            # broken limit shows at once and is recorded in max_in_flight), at most 0.3 s, so that the
            # requests a client lets through overlap.
            with st.cond:
                st.cond.notify_all()
                st.cond.wait_for(lambda: st.in_flight[name] >= 3, timeout=0.3)
        with st.cond:
            st.in_flight[name] -= 1          # before the answer is written: the count never runs ahead
        if name == "throttle" and n == 0:
            with st.lock:
                st.throttled_at = time.time()    # before the answer: the client cannot have it earlier
            return self._error(h, 429, "TOOMANYREQUESTS", "rate limit exceeded, retry after 1 s", {"Retry-After": "1"}, head)
        if kind == "manifests":
            return self._manifest(h, name, ref, head)
        return self._blob(h, name, ref, head)

    def _huge(self, h, name: str, head: bool) -> None:
        body = self.huge
        h.send_response(200)
        h.send_header("Content-Type", MT_OCI_MANIFEST)
        h.send_header("Docker-Content-Digest", digest_of(body))
        chunked = name == "huge-chunked"
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if head:
            return
        sent = 0
        try:
            for i in range(0, len(body), 64 << 10):
                part = body[i:i + (64 << 10)]
                h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                sent += len(part)
            if chunked:
                h.wfile.write(b"0\r\n\r\n")
        finally:
            with self.state.lock:
                self.state.huge_bytes_sent[name] = self.state.huge_bytes_sent.get(name, 0) + sent

    def _blob(self, h, name: str, ref: str, head: bool) -> None:
        if ref not in self.blobs:
            return self._error(h, 404, "BLOB_UNKNOWN", f"blob {ref} unknown", head=head)
        data = self.blobs[ref][1]
        hdrs = {"Docker-Content-Digest": ref, "Accept-Ranges": "bytes"}
        layer = self.images[name].layers[0]
        if name == "baddigest" and ref == layer.digest:
            data = data[:-1] + bytes([data[-1] ^ 0xFF])  # same size, wrong bytes
        elif name == "oversize" and ref == layer.digest:
            data = data + b"\0" * 1024  # the descriptor's size, then 1 KiB more
        elif name == "cut" and ref == layer.digest:
            return self._cut(h, data, hdrs, head)
        self._send(h, 200, data, "application/octet-stream", hdrs, head)

    def _cut(self, h, data: bytes, hdrs: dict, head: bool) -> None:
        if head:
            return self._send(h, 200, data, "application/octet-stream", hdrs, True)
        rng = h.headers.get("Range")
        with self.state.lock:
            self.state.cut_ranges.append(rng)
        first_full = rng is None and self.state.bump("cut-plain-get") == 0
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            if not m or int(m[1]) >= len(data) or (m[2] and int(m[2]) < int(m[1])):
                return self._send(h, 416, b"", "application/octet-stream",
                                  {"Content-Range": f"bytes */{len(data)}"})
            a = int(m[1])
            b = min(int(m[2]), len(data) - 1) if m[2] else len(data) - 1
            return self._send(h, 206, data[a:b + 1], "application/octet-stream",
                              dict(hdrs, **{"Content-Range": f"bytes {a}-{b}/{len(data)}"}))
        if not first_full:
            return self._send(h, 200, data, "application/octet-stream", hdrs)
        # First plain GET: promise every byte, send half, cut the connection.
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        for k, v in hdrs.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data[:len(data) // 2])
        h.wfile.flush()
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -------------------------------------------------------------------------------------------- hostile
    def _hostile(self, h, name: str, kind: str, ref: str, head: bool) -> None:
        img = self.images[name]
        if name == "xredirect" and kind == "manifests":
            # Basic everywhere (so the client holds the user's password), then the manifest goes elsewhere.
            return self._send(h, 307, b"", None, {"Location": f"{self.second_url}/hostile/manifests/{ref}"}, head)
        if name in ("bigexpiry", "negexpiry"):
            authz = h.headers.get("Authorization") or ""
            with self.state.lock:
                known = authz.lower().startswith("bearer ") and authz.split(" ", 1)[1].strip() in self.state.tokens
            if not known:
                return self._challenge(h, f"{self.url}/_stub/token-{name}", f"repository:{name}:pull", head=head)
        if name == "retryafter-huge":
            return self._error(h, 429, "TOOMANYREQUESTS", "slow down", {"Retry-After": "99999999999999999999999"}, head)
        if name == "retryafter-date":
            return self._error(h, 503, "UNAVAILABLE", "come back much later", {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}, head)
        if name == "decimal-realm":
            return self._challenge(h, DECIMAL_REALM, f"repository:{name}:pull", head=head)
        if name in ("bigsize", "negsize") and kind == "manifests":
            m = json.loads(img.manifest)
            m["layers"][0]["size"] = int(HUGE_INT) if name == "bigsize" else -1
            m["layers"] = m["layers"] * 3
            body = jbytes(m)
            return self._send(h, 200, body, MT_OCI_MANIFEST, {"Docker-Content-Digest": digest_of(body)}, head)
        if name == "nameredirect" and kind == "blobs":
            # Like `redirect`, but to a host name (resolved by the client's overrides, or by a proxy).
            return self._send(h, 307, b"", None, {"Location": f"http://blobs.test:{self.second_port}/objects/{ref[7:]}"}, head)
        if name == "badlength" and kind == "manifests":
            # A Content-Length no 64-bit integer holds, then the real manifest.
            h.send_response(200)
            h.send_header("Content-Type", MT_OCI_MANIFEST)
            h.send_header("Content-Length", "99999999999999999999999")
            h.end_headers()
            h.close_connection = True
            if not head:
                h.wfile.write(img.manifest)
            return
        if name == "slow" and kind == "blobs" and ref == img.layers[0].digest:
            return self._slow(h, self.blobs[ref][1], head)
        if name == "endless" and kind == "blobs" and ref == img.layers[0].digest:
            return self._endless(h, self.blobs[ref][1], head)
        if kind == "manifests":
            return self._manifest(h, name, ref, head)
        return self._blob(h, name, ref, head)

    def _slow(self, h, data: bytes, head: bool) -> None:
        """One byte a second of a blob whose Content-Length promises all of it, until the client leaves."""
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if head:
            return
        h.wfile.flush()
        h.close_connection = True
        try:
            for i in range(min(len(data), 600)):
                h.wfile.write(data[i:i + 1])
                h.wfile.flush()
                with self.state.lock:
                    self.state.slow_bytes_sent += 1
                time.sleep(1)
        except OSError:
            pass

    def _endless(self, h, data: bytes, head: bool) -> None:
        """The layer's bytes, then zeros without end (no Content-Length; 1 GiB at most), until the client leaves."""
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        if head:
            return
        sent = 0
        try:
            h.wfile.write(data)
            sent += len(data)
            zeros = b"\0" * (64 << 10)
            while sent < (1 << 30):
                h.wfile.write(zeros)
                sent += len(zeros)
        except OSError:
            pass
        finally:
            with self.state.lock:
                self.state.endless_bytes_sent += sent

    def _xlink(self, h, path: str, q, head: bool) -> None:
        """A catalog whose Link sends the next page to the second origin."""
        if path in ("/v2/", "/v2"):
            return self._send(h, 200, b"{}", head=head)
        if path != "/v2/_catalog":
            return self._error(h, 404, "NAME_UNKNOWN", f"nothing at {path}", head=head)
        return self._send(h, 200, jbytes({"repositories": CATALOG[:2]}),
                          headers={"Link": f'<{self.second_url}/v2/_catalog?n=2&last={CATALOG[1]}>; rel="next"'}, head=head)

    def _bearer_any(self, h, name: str, head: bool) -> bool:
        """Any token the stub issued will do (tok<N> repositories: one token per repository scope)."""
        authz = h.headers.get("Authorization") or ""
        with self.state.lock:
            ok = authz.lower().startswith("bearer ") and authz.split(" ", 1)[1].strip() in self.state.tokens
        if not ok:
            self._challenge(h, f"{self.url}/_stub/token", f"repository:{name}:pull", head=head)
        return ok

    # -------------------------------------------------------------------------------------------- second origin
    def _second(self, h, method: str) -> None:
        """An object store on another port: presigned URLs only. Like S3, a request that also carries an
        Authorization header is refused (400), and the stub records that it came."""
        u = urllib.parse.urlsplit(h.path)
        authz = h.headers.get("Authorization")
        with self.state.lock:
            self.state.second_origin.append({"t": time.time(), "method": method, "path": u.path, "query": u.query,
                                             "authorization": authz is not None,
                                             "authorization_scheme": authz.split(" ", 1)[0] if authz else None})
        self.state.saw_authorization("second", h)
        head = method == "HEAD"
        if u.path.startswith("/hostile/"):
            # Reached by xredirect's 307: asks for credentials with a realm of its own choosing.
            if u.path == "/hostile/token":
                return self._send(h, 200, jbytes({"token": "second-origin-token", "expires_in": 300}), head=head)
            return self._send(h, 401, jbytes({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}),
                              headers={"WWW-Authenticate": f'Bearer realm="{self.second_url}/hostile/token",service="evil",scope="repository:xredirect:pull"'},
                              head=head)
        m = re.fullmatch(r"/objects/([0-9a-f]{64})", u.path)
        if authz is not None:
            body = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidArgument</Code>"
                    b"<Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                    b"Signature query string parameter or the Authorization header should be specified"
                    b"</Message></Error>")
            return self._send(h, 400, body, "application/xml", head=head)
        if not m or "sha256:" + m[1] not in self.blobs:
            return self._send(h, 404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml", head=head)
        self._send(h, 200, self.blobs["sha256:" + m[1]][1], "binary/octet-stream", head=head)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="A deliberately misbehaving stub registry (tests only).")
    p.add_argument("--dir", required=True)
    p.add_argument("--max-lifetime", type=float, default=1800.0, help="stop by itself after this many seconds")
    a = p.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stub = MisbehavingRegistry(a.dir)
    info = stub.start()
    print(json.dumps(info), flush=True)
    try:
        stop.wait(a.max_lifetime)
    finally:
        stub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
