#!/usr/bin/env python3
"""Registry test fixture: the real Debian `docker-registry` (distribution 2.8.2) on 127.0.0.1, started by
the tests themselves, with no auth, htpasswd Basic or token auth (a small real token server issuing JWTs
that the registry verifies), optionally over TLS with a CA made at run time; and a pusher that builds test
images in memory and pushes them with the registry HTTP API, recording what it pushed so tests can assert
byte-exact results.

CLI (see Tests/registry/README.md):
    fixture.py start --auth none|htpasswd|token [--tls] --dir DIR [--delete] [--detach]
    fixture.py stop --dir DIR
    fixture.py push (--fixture DIR | --url URL [--ca CA] [--username U --password P]) --set basic|many|manytags [--out DIR]

Module:
    with RegistryFixture(dir, auth="token", tls=True) as fx:
        info = fx.info                      # the JSON object `start` prints
        pushed = push_set(info["url"], "basic", ca=info["ca"], username=..., password=..., out_dir=...)

Every wait has a deadline; everything listens on 127.0.0.1 only. Needs Python 3.11, httpx, pyjwt,
cryptography, and the Debian packages docker-registry, openssl, apache2-utils (htpasswd -B).
"""
from __future__ import annotations

import argparse
import base64
import concurrent.futures
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import random
import re
import secrets
import select
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable

import httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

REGISTRY_BIN = os.environ.get("REGISTRY_BIN", "/usr/bin/docker-registry")
USERNAME = "testuser"
PULL_ONLY_USERNAME = "pulluser"  # token mode only: gets pull on repositories, nothing else
TOKEN_SERVICE = "cr-agent-test-registry"
TOKEN_ISSUER = "cr-agent-test-token-issuer"
DEFAULT_MAX_LIFETIME = 1800.0  # a forgotten fixture stops itself after this many seconds

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MT_HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
MT_HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
MT_COSIGN_SIG = "application/vnd.dev.cosign.simplesigning.v1+json"
MT_IN_TOTO = "application/vnd.in-toto+json"
ALL_MANIFEST_TYPES = ", ".join([MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST, MT_DOCKER_LIST])


class FixtureError(RuntimeError):
    pass


# ----------------------------------------------------------------------------------------------- helpers

def free_port() -> int:
    """A port free on 127.0.0.1 right now (the caller binds it soon after; start-up retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_exited(pid: int, timeout: float) -> bool:
    """Waits for any process (child or not) to end, on a pidfd that turns readable when it does."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def run(cmd: list[str], timeout: float = 30, **kw) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, check=True, capture_output=True, timeout=timeout, **kw)
    except subprocess.CalledProcessError as e:
        raise FixtureError(f"{cmd[0]} failed ({e.returncode}): {e.stderr.decode(errors='replace').strip()}") from e
    except FileNotFoundError as e:
        raise FixtureError(f"{cmd[0]} is not installed: run scripts/deps.sh") from e


def sha256_hex(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def digest_of(b: bytes) -> str:
    return "sha256:" + sha256_hex(b)


def write_atomic(path: Path, data: bytes | str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pid_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def utc_iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------------------------- TLS

def make_tls(dir: Path) -> dict[str, str]:
    """A CA and a server certificate (SAN IP:127.0.0.1, DNS:localhost), made with openssl at run time."""
    d = dir / "tls"
    d.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = d / "ca.key", d / "ca.crt"
    key, csr, crt, ext = d / "server.key", d / "server.csr", d / "server.crt", d / "server.ext"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run(["openssl", "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca_crt), "-days", "2",
         "-subj", "/CN=cr-agent test CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    run(["openssl", "req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1"])
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                   "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
         "-CAcreateserial", "-out", str(crt), "-days", "2", "-sha256", "-extfile", str(ext)])
    # skopeo/containers-image --cert-dir and docker's certs.d want a directory holding only ca.crt.
    cert_dir = d / "certs.d"
    cert_dir.mkdir(exist_ok=True)
    (cert_dir / "ca.crt").write_bytes(ca_crt.read_bytes())
    return {"ca": str(ca_crt), "ca_dir": str(cert_dir), "cert": str(crt), "key": str(key)}


# ----------------------------------------------------------------------------------------------- token server

def libtrust_key_id(public_key) -> str:
    """The key ID libtrust (and so registry 2.8.2's token `kid` lookup) computes: SHA-256 of the DER
    SubjectPublicKeyInfo, first 240 bits, base32 without padding, in 12 colon-separated groups of 4."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    s = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(s[i:i + 4] for i in range(0, len(s), 4))


class TokenSigner:
    """A signing key made at run time and a self-signed certificate for it: the registry's `rootcertbundle`.

    key_header "kid": the JWT header carries the libtrust key ID of the key (registry looks it up among the
    bundle's keys); "x5c": the header carries the certificate itself (verified against the bundle)."""

    def __init__(self, dir: Path, alg: str = "ES256", key_header: str = "kid"):
        if alg == "ES256":
            self.key = ec.generate_private_key(ec.SECP256R1())
        elif alg == "RS256":
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            raise FixtureError(f"unsupported token signing algorithm {alg}: use ES256 or RS256")
        if key_header not in ("kid", "x5c"):
            raise FixtureError(f"unsupported token key header {key_header}: use kid or x5c")
        self.alg, self.key_header = alg, key_header
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cr-agent test token signer")])
        now = dt.datetime.now(dt.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        d = dir / "token"
        d.mkdir(parents=True, exist_ok=True)
        self.cert_path = d / "signing.crt"
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        key_path = d / "signing.key"
        key_path.write_bytes(self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
        key_path.chmod(0o600)
        self.kid = libtrust_key_id(self.key.public_key())

    def sign(self, subject: str, access: list[dict], ttl: int) -> tuple[str, int]:
        now = int(time.time())
        claims = {"iss": TOKEN_ISSUER, "sub": subject, "aud": TOKEN_SERVICE,  # aud: a string, not a list (2.8.2)
                  "exp": now + ttl, "nbf": now - 1, "iat": now, "jti": secrets.token_hex(16), "access": access}
        headers: dict[str, Any] = {"typ": "JWT"}
        if self.key_header == "kid":
            headers["kid"] = self.kid
        else:
            headers["x5c"] = [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]
        return jwt.encode(claims, self.key, algorithm=self.alg, headers=headers), now


def parse_scope(scope: str) -> tuple[str, str, list[str]] | None:
    """`type[(class)]:name:action,action` (the name may itself hold colons, e.g. a registry port)."""
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    typ = re.sub(r"\(.*\)$", "", parts[0])
    return typ, ":".join(parts[1:-1]), [a for a in parts[-1].split(",") if a]


def grant(user: str | None, scopes: Iterable[str]) -> list[dict]:
    """What a user gets: testuser everything it asks for; pulluser pull on repositories; anonymous pull on
    repositories named public/*."""
    granted: dict[tuple[str, str], list[str]] = {}
    for s in scopes:
        p = parse_scope(s)
        if p is None:
            continue
        typ, name, actions = p
        if user == USERNAME:
            allowed = actions
        elif user == PULL_ONLY_USERNAME:
            allowed = [a for a in actions if a == "pull"] if typ == "repository" else []
        else:
            allowed = [a for a in actions if a == "pull"] if typ == "repository" and name.startswith("public/") else []
        cur = granted.setdefault((typ, name), [])
        cur.extend(a for a in allowed if a not in cur)
    return [{"type": t, "name": n, "actions": a} for (t, n), a in granted.items() if a]


class TokenServer:
    """A Docker-registry token server (GET with Basic and repeated `scope`; OAuth2 POST form with
    grant_type=password|refresh_token), threaded, on 127.0.0.1, TLS when given a certificate.
    Every request becomes one JSON line in DIR/token.log (never a password or token)."""

    def __init__(self, dir: Path, signer: TokenSigner, users: dict[str, str], ttl: int = 300,
                 tls: dict[str, str] | None = None):
        self.signer, self.users, self.ttl = signer, users, ttl
        self.log_path = dir / "token.log"
        self.log_lock = threading.Lock()
        self.refresh_tokens: dict[str, str] = {}
        self.requests = 0
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "cr-agent-test-token/1"
            timeout = 30
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, *a):
                pass

            def do_GET(self):
                fixture._handle(self, "GET")

            def do_POST(self):
                fixture._handle(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        scheme = "http"
        if tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(tls["cert"], tls["key"])
            # The handshake runs in the handler thread (first read), so one slow client cannot stall accept().
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.port}/token"
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="token-server", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread:
            self.httpd.shutdown()
            self.thread.join(timeout=5)
        self.httpd.server_close()

    def _log(self, rec: dict) -> None:
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        with self.log_lock:
            self.requests += 1
            with open(self.log_path, "a") as f:
                f.write(line)

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urllib.parse.urlsplit(h.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        rec: dict[str, Any] = {"ts": utc_iso(time.time()), "method": method, "path": url.path,
                               "query": query, "auth": "none", "user": None}
        status, body, extra = 404, {"errors": [{"code": "NOT_FOUND", "message": "no such path"}]}, {}
        try:
            form: dict[str, list[str]] = {}
            if method == "POST":
                n = int(h.headers.get("Content-Length") or 0)
                if n > 1 << 20:
                    raise ValueError("form too large")
                raw = h.rfile.read(n).decode()
                form = urllib.parse.parse_qs(raw, keep_blank_values=True)
                rec["content_type"] = h.headers.get("Content-Type")
                rec["form"] = {k: v for k, v in form.items() if k not in ("password", "refresh_token")}
                if "password" in form:
                    rec["form"]["password"] = ["<redacted>"]
                if "refresh_token" in form:
                    rec["form"]["refresh_token"] = ["<redacted>"]
            authz = h.headers.get("Authorization")
            if authz:
                rec["auth"] = authz.split(" ", 1)[0].lower()
            if url.path == "/token":
                status, body, extra = (self._get if method == "GET" else self._post)(rec, query, form, authz)
        except Exception as e:  # a broken request gets a 400, never a dead server
            status, body = 400, {"errors": [{"code": "BAD_REQUEST", "message": str(e)}]}
        rec["status"] = status
        self._log(rec)
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _check_service(self, rec, service: str | None):
        rec["service"] = service
        if service is not None and service != TOKEN_SERVICE:
            return 400, {"errors": [{"code": "INVALID_SERVICE", "message": f"unknown service {service!r}"}]}, {}
        return None

    def _issue(self, rec, user: str | None, scopes: list[str], refresh: bool):
        access = grant(user, scopes)
        rec["scopes"], rec["granted"] = scopes, access
        token, iat = self.signer.sign(user or "", access, self.ttl)
        body = {"token": token, "access_token": token, "expires_in": self.ttl, "issued_at": utc_iso(iat)}
        if refresh and user:
            rt = secrets.token_urlsafe(24)
            self.refresh_tokens[rt] = user
            body["refresh_token"] = rt
        return 200, body, {}

    def _get(self, rec, query, form, authz):
        user = None
        if authz:
            scheme, _, cred = authz.partition(" ")
            if scheme.lower() != "basic":
                return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "use Basic credentials"}]}, \
                    {"WWW-Authenticate": 'Basic realm="cr-agent-test-token"'}
            try:
                u, _, p = base64.b64decode(cred, validate=True).decode().partition(":")
            except Exception:
                u, p = "", None
            rec["user"] = u
            if self.users.get(u) is None or not secrets.compare_digest(self.users[u], p or ""):
                rec["auth_ok"] = False
                return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication failed"}]}, \
                    {"WWW-Authenticate": 'Basic realm="cr-agent-test-token"'}
            rec["auth_ok"] = True
            user = u
        bad = self._check_service(rec, (query.get("service") or [None])[0])
        if bad:
            return bad
        scopes = [s for v in query.get("scope", []) for s in v.split(" ") if s]
        return self._issue(rec, user, scopes, refresh=(query.get("offline_token") or [""])[0] == "true")

    def _post(self, rec, query, form, authz):
        one = lambda k: (form.get(k) or [None])[0]
        gt = one("grant_type")
        bad = self._check_service(rec, one("service"))
        if bad:
            return bad
        scopes = [s for s in (one("scope") or "").split(" ") if s]
        if gt == "password":
            u, p = one("username") or "", one("password") or ""
            rec["user"] = u
            if self.users.get(u) is None or not secrets.compare_digest(self.users[u], p):
                rec["auth_ok"] = False
                return 401, {"error": "invalid_grant", "error_description": "authentication failed"}, {}
            rec["auth_ok"] = True
            return self._issue(rec, u, scopes, refresh=one("access_type") == "offline")
        if gt == "refresh_token":
            u = self.refresh_tokens.get(one("refresh_token") or "")
            rec["user"] = u
            if u is None:
                rec["auth_ok"] = False
                return 401, {"error": "invalid_grant", "error_description": "unknown refresh token"}, {}
            rec["auth_ok"] = True
            return self._issue(rec, u, scopes, refresh=False)
        return 400, {"error": "unsupported_grant_type", "error_description": f"grant_type {gt!r}"}, {}


# ----------------------------------------------------------------------------------------------- registry fixture

class RegistryFixture:
    """The real docker-registry with the chosen auth, plus the token server in token mode.

    Start from a thread that lives as long as the fixture: the registry gets SIGKILL when its parent
    thread dies (setpriv --pdeathsig), so a killed test never leaves it behind."""

    def __init__(self, dir: str | os.PathLike, auth: str = "none", tls: bool = False, delete: bool = False,
                 token_ttl: int = 300, token_alg: str = "ES256", token_key_header: str = "kid",
                 die_with_parent: bool = True, htpasswd_user: str | None = None):
        if auth not in ("none", "htpasswd", "token"):
            raise FixtureError(f"unknown auth mode {auth!r}: use none, htpasswd or token")
        self.dir = Path(dir).resolve()
        self.auth, self.tls, self.delete = auth, tls, delete
        self.token_ttl, self.token_alg, self.token_key_header = token_ttl, token_alg, token_key_header
        self.die_with_parent = die_with_parent
        # "name:password" for the htpasswd user instead of a made-up one (for logins issued elsewhere)
        self.htpasswd_user = htpasswd_user
        self.proc: subprocess.Popen | None = None
        self.token: TokenServer | None = None
        self.info: dict[str, Any] = {}

    def __enter__(self) -> "RegistryFixture":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 20) -> dict[str, Any]:
        t0 = time.monotonic()
        if not os.access(REGISTRY_BIN, os.X_OK):
            raise FixtureError(f"{REGISTRY_BIN} is missing: run scripts/deps.sh (Debian package docker-registry)")
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "storage").mkdir(exist_ok=True)
        tls = make_tls(self.dir) if self.tls else None
        password = pull_password = None
        username = USERNAME
        auth_cfg: dict[str, Any] = {}
        if self.auth == "htpasswd":
            password = secrets.token_urlsafe(12)
            if self.htpasswd_user:
                username, password = self.htpasswd_user.split(":", 1)
            (self.dir / "auth").mkdir(exist_ok=True)
            htfile = self.dir / "auth" / "htpasswd"
            run(["htpasswd", "-B", "-i", "-c", str(htfile), username], input=password.encode())
            auth_cfg = {"htpasswd": {"realm": "cr-agent-test", "path": str(htfile)}}
        elif self.auth == "token":
            password, pull_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
            signer = TokenSigner(self.dir, self.token_alg, self.token_key_header)
            # Bind the token server now (its port goes into the registry config); serve after the registry
            # is forked, so no thread runs while we fork.
            self.token = TokenServer(self.dir, signer, {USERNAME: password, PULL_ONLY_USERNAME: pull_password},
                                     self.token_ttl, tls)
            auth_cfg = {"token": {"realm": self.token.url, "service": TOKEN_SERVICE, "issuer": TOKEN_ISSUER,
                                  "rootcertbundle": str(signer.cert_path)}}
        log_path = self.dir / "registry.log"
        last_err = ""
        for attempt in range(3):
            port = free_port()
            cfg: dict[str, Any] = {
                "version": "0.1",
                "log": {"level": "info", "formatter": "json", "fields": {"service": "registry"}},
                "storage": {"filesystem": {"rootdirectory": str(self.dir / "storage")},
                            "delete": {"enabled": self.delete},
                            "maintenance": {"uploadpurging": {"enabled": False}}},
                "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16),
                         "headers": {"X-Content-Type-Options": ["nosniff"]}},
                "health": {"storagedriver": {"enabled": False}},
            }
            if tls:
                cfg["http"]["tls"] = {"certificate": tls["cert"], "key": tls["key"]}
            if auth_cfg:
                cfg["auth"] = auth_cfg
            cfg_path = self.dir / "config.yml"
            cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")  # JSON is YAML; the registry reads it as such
            env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
            cmd = [REGISTRY_BIN, "serve", str(cfg_path)]
            if self.die_with_parent:
                cmd = ["setpriv", "--pdeathsig", "KILL", "--", *cmd]
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         env=env, start_new_session=True)
            listening = self._pump_log(log_path)
            scheme = "https" if tls else "http"
            url = f"{scheme}://127.0.0.1:{port}"
            if self.token and attempt == 0:
                self.token.start()
            try:
                self._wait_ready(url, tls["ca"] if tls else None, max(2.0, timeout - (time.monotonic() - t0)), listening)
                break
            except FixtureError as e:
                last_err = str(e)
                self._stop_registry()
                tail = log_path.read_text(errors="replace")[-2000:]
                if "address already in use" not in tail or attempt == 2:
                    self.stop()
                    raise FixtureError(f"docker-registry did not start: {last_err}\n{tail}") from None
        self.info = {
            "url": url, "host": f"127.0.0.1:{port}", "port": port, "scheme": scheme,
            "auth": self.auth, "tls": bool(tls), "delete_enabled": self.delete,
            "ca": tls["ca"] if tls else None, "ca_dir": tls["ca_dir"] if tls else None,
            "username": username if password else None, "password": password,
            "pull_only_username": PULL_ONLY_USERNAME if pull_password else None,
            "pull_only_password": pull_password,
            "token_url": self.token.url if self.token else None,
            "token_service": TOKEN_SERVICE if self.token else None,
            "token_issuer": TOKEN_ISSUER if self.token else None,
            "token_signing_cert": str(self.token.signer.cert_path) if self.token else None,
            "token_key_header": self.token_key_header if self.token else None,
            "token_ttl": self.token_ttl if self.token else None,
            "registry_pid": self.proc.pid, "fixture_pid": os.getpid(),
            "dir": str(self.dir), "storage_dir": str(self.dir / "storage"), "config": str(self.dir / "config.yml"),
            "registry_log": str(log_path), "token_log": str(self.dir / "token.log") if self.token else None,
            "started_in_s": round(time.monotonic() - t0, 3),
        }
        return self.info

    def _pump_log(self, log_path: Path) -> threading.Event:
        """Copies the registry's output into its log on a thread. The event is set when the registry says
        it is listening (it logs that once its socket accepts connections) or when its output ends."""
        said_listening = threading.Event()
        ended = threading.Event()

        def pump(stream, log) -> None:
            with stream, log:
                for line in stream:
                    log.write(line)
                    log.flush()
                    if b'"msg":"listening on ' in line:
                        said_listening.set()
                        ended.set()
            ended.set()

        self._said_listening = said_listening
        threading.Thread(target=pump, args=(self.proc.stdout, open(log_path, "ab")), daemon=True).start()
        return ended

    def _wait_ready(self, url: str, ca: str | None, timeout: float, listening: threading.Event) -> None:
        if not listening.wait(timeout):
            raise FixtureError(f"timed out after {timeout:.0f}s waiting for docker-registry at {url}/v2/")
        if not self._said_listening.is_set():
            raise FixtureError(f"docker-registry exited with {self.proc.wait(timeout=10)}")
        with httpx.Client(verify=ca or True, timeout=5) as c:      # one request: the socket already listens
            status = c.get(url + "/v2/").status_code
        if status not in (200, 401):
            raise FixtureError(f"docker-registry at {url}/v2/ answered {status}")

    def registry_alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _stop_registry(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def stop(self) -> None:
        self._stop_registry()
        if self.token:
            self.token.stop()
            self.token = None


# ----------------------------------------------------------------------------------------------- CLI: start / stop

def _serve(fx: RegistryFixture, max_lifetime: float, on_ready: Callable[[dict], None]) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        info = fx.start()
        on_ready(info)
        deadline = time.monotonic() + max_lifetime
        while not stop.wait(0.5):
            if not fx.registry_alive():
                print(f"fixture: docker-registry exited ({fx.proc.returncode}); see {info['registry_log']}",
                      file=sys.stderr)
                return 1
            if time.monotonic() > deadline:
                print(f"fixture: max lifetime {max_lifetime:.0f}s reached, stopping", file=sys.stderr)
                return 0
        return 0
    finally:
        fx.stop()


def cmd_start(a) -> int:
    dir = Path(a.dir).resolve()
    fx_args = dict(auth=a.auth, tls=a.tls, delete=a.delete, token_ttl=a.token_ttl, token_alg=a.token_alg,
                   token_key_header=a.token_key_header, htpasswd_user=a.htpasswd_user)
    if a.detach:
        dir.mkdir(parents=True, exist_ok=True)
        info_path, pid_path = dir / "fixture.json", dir / "fixture.pid"
        for p in (info_path, pid_path):
            p.unlink(missing_ok=True)
        argv = [sys.executable, os.path.abspath(__file__), "start", "--auth", a.auth, "--dir", str(dir),
                "--token-ttl", str(a.token_ttl), "--token-alg", a.token_alg,
                "--token-key-header", a.token_key_header, "--max-lifetime", str(a.max_lifetime), "--_child"]
        argv += ["--tls"] if a.tls else []
        argv += ["--delete"] if a.delete else []
        argv += ["--htpasswd-user", a.htpasswd_user] if a.htpasswd_user else []
        out = open(dir / "fixture.out", "ab")
        ready_r, ready_w = os.pipe()      # the child writes a line here once fixture.json is in place
        argv += ["--_ready-fd", str(ready_w)]
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True, close_fds=True, pass_fds=(ready_w,))
        out.close()
        os.close(ready_w)
        try:
            said = os.read(ready_r, 64) if select.select([ready_r], [], [], 30)[0] else None
        finally:
            os.close(ready_r)
        if said is None:
            child.kill()
            child.wait(timeout=5)
            print("fixture: timed out after 30s waiting for the fixture to start", file=sys.stderr)
            return 1
        if not said:                       # the pipe closed without a word: the child exited
            child.wait(timeout=10)
            print(f"fixture: start failed ({child.returncode}):\n"
                  + (dir / "fixture.out").read_text(errors="replace")[-3000:], file=sys.stderr)
            return 1
        print(info_path.read_text().strip())
        return 0

    fx = RegistryFixture(dir, **fx_args)
    if a._child:
        def ready(info):
            (dir / "fixture.pid").write_text(f"{os.getpid()}\n")
            write_atomic(dir / "fixture.json", json.dumps(info, indent=2) + "\n")
            if a._ready_fd is not None:
                os.write(a._ready_fd, b"ready\n")
                os.close(a._ready_fd)
    else:
        def ready(info):
            print(json.dumps(info), flush=True)
    try:
        return _serve(fx, a.max_lifetime, ready)
    except FixtureError as e:
        print(f"fixture: {e}", file=sys.stderr)
        return 1


def cmd_stop(a) -> int:
    dir = Path(a.dir).resolve()
    pid_path, info_path = dir / "fixture.pid", dir / "fixture.json"
    pids: list[tuple[int, str]] = []
    if pid_path.exists():
        pids.append((int(pid_path.read_text().strip()), "fixture.py"))
    if info_path.exists():
        pids.append((int(json.loads(info_path.read_text())["registry_pid"]), "docker-registry"))
    if not pids:
        print(f"fixture: nothing to stop in {dir} (no fixture.pid)", file=sys.stderr)
        return 1
    for pid, marker in pids:  # the fixture first: it stops the registry itself
        if not pid_alive(pid) or marker not in pid_cmdline(pid):
            continue  # gone, or the pid was reused by something that is not ours
        os.kill(pid, signal.SIGTERM)
        if not wait_exited(pid, 15):
            os.kill(pid, signal.SIGKILL)
            if not wait_exited(pid, 5):
                raise FixtureError(f"{marker} (pid {pid}) did not die")
    pid_path.unlink(missing_ok=True)
    print(json.dumps({"stopped": True, "dir": str(dir)}))
    return 0


# ----------------------------------------------------------------------------------------------- registry client

def mount_scopes(repo: str, from_repo: str) -> list[str]:
    return [f"repository:{repo}:pull,push", f"repository:{from_repo}:pull"]


_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class RegistryClient:
    """Just enough of a registry client to push: Basic or Bearer (token per scope set), monolithic blob
    uploads (POST then PUT), cross-repository mounts, manifest PUTs. Thread-safe."""

    def __init__(self, url: str, ca: str | None = None, username: str | None = None, password: str | None = None,
                 timeout: float = 30):
        self.base = url.rstrip("/")
        self.http = httpx.Client(verify=ca or True, timeout=timeout,
                                 limits=httpx.Limits(max_connections=32, max_keepalive_connections=32))
        self.creds = (username, password) if username else None
        self.scheme: str | None = None
        self.realm = self.service = None
        self.tokens: dict[frozenset, str] = {}
        self.lock = threading.Lock()
        self.token_requests = 0

    def close(self) -> None:
        self.http.close()

    def _fetch_token(self, scopes: frozenset) -> str:
        params = [("service", self.service)] if self.service else []
        params += [("scope", s) for s in sorted(scopes)]
        r = self.http.get(self.realm, params=params, auth=self.creds)
        with self.lock:
            self.token_requests += 1
        if r.status_code != 200:
            raise FixtureError(f"token request to {self.realm} failed: {r.status_code} {r.text[:200]}")
        j = r.json()
        return j.get("token") or j["access_token"]

    def _auth_header(self, scopes: frozenset) -> dict[str, str]:
        if self.scheme == "basic" and self.creds:
            return {"Authorization": "Basic " + base64.b64encode(":".join(self.creds).encode()).decode()}
        if self.scheme == "bearer":
            tok = self.tokens.get(scopes)
            if tok is None:
                tok = self._fetch_token(scopes)
                self.tokens[scopes] = tok
            return {"Authorization": "Bearer " + tok}
        return {}

    def request(self, method: str, path: str, scopes: Iterable[str] = (), headers: dict | None = None,
                content: bytes | None = None, params=None) -> httpx.Response:
        url = urllib.parse.urljoin(self.base + "/", path)
        scopes = frozenset(scopes)
        for attempt in range(3):
            h = dict(headers or {})
            h.update(self._auth_header(scopes))
            r = self.http.request(method, url, headers=h, content=content, params=params)
            if r.status_code != 401 or attempt == 2:
                return r
            chal = r.headers.get("www-authenticate", "")
            kind = chal.split(" ", 1)[0].lower()
            params_ = dict(_CHALLENGE_PARAM.findall(chal))
            if kind == "basic" and self.creds and self.scheme != "basic":
                self.scheme = "basic"
            elif kind == "bearer":
                self.scheme, self.realm, self.service = "bearer", params_.get("realm"), params_.get("service")
                scopes = scopes | frozenset(s for s in params_.get("scope", "").split(" ") if s)
                self.tokens.pop(scopes, None)
            else:
                return r
        return r

    def expect(self, r: httpx.Response, codes: Iterable[int], what: str) -> httpx.Response:
        if r.status_code not in tuple(codes):
            raise FixtureError(f"{what}: {r.request.method} {r.request.url} -> {r.status_code} {r.text[:300]}")
        return r

    def ping(self) -> None:
        self.expect(self.request("GET", "/v2/"), (200,), "GET /v2/")

    def upload_blob(self, repo: str, data: bytes, digest: str | None = None) -> str:
        digest = digest or digest_of(data)
        scopes = [f"repository:{repo}:pull,push"]
        r = self.expect(self.request("POST", f"/v2/{repo}/blobs/uploads/", scopes), (202,), f"start upload {repo}")
        loc = urllib.parse.urljoin(str(r.request.url), r.headers["location"])
        loc += ("&" if "?" in loc else "?") + "digest=" + urllib.parse.quote(digest, safe="")
        r = self.expect(self.request("PUT", loc, scopes, headers={"Content-Type": "application/octet-stream"},
                                     content=data), (201,), f"finish upload {repo} {digest}")
        got = r.headers.get("docker-content-digest")
        if got != digest:
            raise FixtureError(f"registry stored {repo} blob as {got}, expected {digest}")
        return digest

    def mount_blob(self, repo: str, digest: str, from_repo: str) -> int:
        r = self.request("POST", f"/v2/{repo}/blobs/uploads/", mount_scopes(repo, from_repo),
                         params={"mount": digest, "from": from_repo})
        if r.status_code == 202:  # the registry fell back to a fresh upload: cancel it
            loc = urllib.parse.urljoin(str(r.request.url), r.headers["location"])
            self.request("DELETE", loc, [f"repository:{repo}:pull,push"])
        return r.status_code

    def put_manifest(self, repo: str, ref: str, body: bytes, media_type: str, scopes: Iterable[str] = ()) -> str:
        scopes = list(scopes) or [f"repository:{repo}:pull,push"]
        r = self.expect(self.request("PUT", f"/v2/{repo}/manifests/{ref}", scopes,
                                     headers={"Content-Type": media_type}, content=body),
                        (201,), f"put manifest {repo}:{ref}")
        digest = digest_of(body)
        got = r.headers.get("docker-content-digest")
        if got != digest:
            raise FixtureError(f"registry says {repo}:{ref} is {got}, expected {digest}")
        return digest


# ----------------------------------------------------------------------------------------------- image building

MTIME = 1700000000  # every tar entry gets this mtime, and gzip mtime 0: same bytes on every run


def make_tar(entries: list[tuple]) -> bytes:
    """entries: (path, content-bytes) files; (path, None) directories; (path, "->", target) symlinks;
    (path, "=>", target) hardlinks."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            ti = tarfile.TarInfo(e[0])
            ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = MTIME, 0, 0, "root", "root"
            if len(e) == 3:
                ti.type = tarfile.SYMTYPE if e[1] == "->" else tarfile.LNKTYPE
                ti.linkname, ti.mode = e[2], 0o777 if e[1] == "->" else 0o644
                tf.addfile(ti)
            elif e[1] is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            else:
                ti.size, ti.mode = len(e[1]), 0o755 if e[0].endswith(".sh") else 0o644
                tf.addfile(ti, io.BytesIO(e[1]))
    return buf.getvalue()


def tar_listing(entries: list[tuple]) -> list[dict]:
    out = []
    for e in entries:
        if len(e) == 3:
            out.append({"path": e[0], "type": "symlink" if e[1] == "->" else "hardlink", "target": e[2]})
        elif e[1] is None:
            out.append({"path": e[0], "type": "dir"})
        else:
            out.append({"path": e[0], "type": "file", "size": len(e[1]), "sha256": sha256_hex(e[1])})
    return out


def jbytes(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class Layer:
    def __init__(self, entries: list[tuple] | None = None, media_type: str = MT_OCI_LAYER_GZIP, raw: bytes | None = None,
                 annotations: dict | None = None):
        """A layer from tar entries (gzipped unless media_type is a plain tar), or raw non-tar bytes."""
        self.entries = entries
        self.media_type, self.annotations = media_type, annotations
        if raw is not None:
            self.uncompressed, self.blob = raw, raw
        else:
            self.uncompressed = make_tar(entries)
            self.blob = self.uncompressed if media_type == MT_OCI_LAYER_TAR else gzip.compress(
                self.uncompressed, compresslevel=6, mtime=0)
        self.digest, self.size = digest_of(self.blob), len(self.blob)
        self.diff_id = digest_of(self.uncompressed)

    def descriptor(self) -> dict:
        d = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            d["annotations"] = self.annotations
        return d

    def record(self) -> dict:
        r = {"mediaType": self.media_type, "digest": self.digest, "size": self.size,
             "diff_id": self.diff_id, "uncompressed_sha256": self.diff_id[7:],
             "uncompressed_size": len(self.uncompressed)}
        if self.entries is not None:
            r["files"] = tar_listing(self.entries)
        if self.annotations:
            r["annotations"] = self.annotations
        return r


class Image:
    """One single-platform image (or artifact): config + layers + manifest, bytes fixed at construction."""

    def __init__(self, layers: list[Layer], platform: dict | None = None, docker: bool = False,
                 config: dict | bytes | None = None, config_media_type: str | None = None,
                 annotations: dict | None = None, history: list[dict] | None = None, labels: dict | None = None):
        self.layers, self.docker = layers, docker
        self.platform = platform
        if config is None:
            plat = platform or {"os": "linux", "architecture": "amd64"}
            history = history or [{"created": "2024-01-01T00:00:00Z", "created_by": f"ADD layer{i}.tar / # buildkit"}
                                  for i in range(len(layers))]
            history = history + [{"created": "2024-01-01T00:00:00Z",
                                  "created_by": 'CMD ["/app/run.sh"]', "empty_layer": True}]
            config = {"created": "2024-01-01T00:00:00Z", "architecture": plat["architecture"], "os": plat["os"]}
            for k in ("variant", "os.version"):
                if k in plat:
                    config[k] = plat[k]
            config["config"] = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                                "Cmd": ["/app/run.sh"], "WorkingDir": "/app", "Labels": labels or {}}
            config["rootfs"] = {"type": "layers", "diff_ids": [l.diff_id for l in layers]}
            config["history"] = history
        self.config = config if isinstance(config, bytes) else jbytes(config)
        self.config_media_type = config_media_type or (MT_DOCKER_CONFIG if docker else MT_OCI_CONFIG)
        self.config_digest = digest_of(self.config)
        self.media_type = MT_DOCKER_MANIFEST if docker else MT_OCI_MANIFEST
        m: dict[str, Any] = {"schemaVersion": 2, "mediaType": self.media_type,
                             "config": {"mediaType": self.config_media_type, "digest": self.config_digest,
                                        "size": len(self.config)},
                             "layers": [l.descriptor() for l in layers]}
        if annotations:
            m["annotations"] = annotations
        self.manifest = jbytes(m)
        self.digest, self.size = digest_of(self.manifest), len(self.manifest)

    def blobs(self) -> list[tuple[str, bytes]]:
        return [(self.config_digest, self.config)] + [(l.digest, l.blob) for l in self.layers]

    def record(self) -> dict:
        r = {"kind": "image", "mediaType": self.media_type, "digest": self.digest, "size": self.size,
             "platform": self.platform,
             "config": {"mediaType": self.config_media_type, "digest": self.config_digest, "size": len(self.config)},
             "diff_ids": [l.diff_id for l in self.layers], "layers": [l.record() for l in self.layers]}
        return r


class Index:
    def __init__(self, entries: list[tuple[Image, dict, dict | None]], docker: bool = False):
        """entries: (image, platform, annotations)."""
        self.entries = entries
        self.media_type = MT_DOCKER_LIST if docker else MT_OCI_INDEX
        ms = []
        for img, plat, ann in entries:
            d = {"mediaType": img.media_type, "digest": img.digest, "size": img.size, "platform": plat}
            if ann:
                d["annotations"] = ann
            ms.append(d)
        self.manifest = jbytes({"schemaVersion": 2, "mediaType": self.media_type, "manifests": ms})
        self.digest, self.size = digest_of(self.manifest), len(self.manifest)

    def record(self) -> dict:
        return {"kind": "index", "mediaType": self.media_type, "digest": self.digest, "size": self.size,
                "manifests": [dict(img.record(), platform=plat, annotations=ann or {},
                                   attestation=(ann or {}).get("vnd.docker.reference.type") == "attestation-manifest")
                              for img, plat, ann in self.entries]}


def os_release(id_: str, name: str, version: str, pretty: str) -> bytes:
    return (f'PRETTY_NAME="{pretty}"\nNAME="{name}"\nVERSION_ID="{version}"\nVERSION="{version}"\n'
            f'ID={id_}\nHOME_URL="https://example.invalid/"\n').encode()


DPKG_STATUS = b"""Package: base-files
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 340
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files

Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries

"""


def debian_base(arch: str = "amd64") -> Layer:
    status = DPKG_STATUS.replace(b"Architecture: amd64", f"Architecture: {arch}".encode())
    return Layer([
        ("etc", None),
        ("etc/os-release", os_release("debian", "Debian GNU/Linux", "12", "Debian GNU/Linux 12 (bookworm)")),
        ("etc/debian_version", b"12.5\n"),
        ("etc/hostname", b"fixture\n"),
        ("tmp", None),
        ("tmp/remove-me.txt", b"deleted by a whiteout in the next layer\n"),
        ("var", None), ("var/lib", None), ("var/lib/dpkg", None),
        ("var/lib/dpkg/status", status),
    ])


def app_layer(tag: str, arch: str = "amd64") -> Layer:
    return Layer([
        ("app", None),
        ("app/run.sh", f"#!/bin/sh\necho {tag} {arch}\n".encode()),
        ("app/package.json", jbytes({"name": "fixture-app", "version": "1.0.0", "dependencies": {}})),
        ("app/arch.txt", f"{arch}\n".encode()),
        ("usr", None), ("usr/bin", None),
        ("usr/bin/app", "->", "/app/run.sh"),
        ("app/run-hardlink.sh", "=>", "app/run.sh"),
        ("tmp", None),
        ("tmp/.wh.remove-me.txt", b""),
    ])


def build_basic() -> list[tuple[str, str, Any]]:
    """(repository, tag, Image|Index) in push order."""
    out: list[tuple[str, str, Any]] = []
    amd = {"os": "linux", "architecture": "amd64"}
    arm = {"os": "linux", "architecture": "arm64", "variant": "v8"}

    single = Image([debian_base(), app_layer("single")], amd,
                   labels={"org.opencontainers.image.title": "single-app"})
    out.append(("single/app", "1.0", single))

    m_amd = Image([debian_base("amd64"), app_layer("multi", "amd64")], amd)
    m_arm = Image([debian_base("arm64"), app_layer("multi", "arm64")], arm)
    statement = jbytes({"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "https://spdx.dev/Document",
                        "subject": [{"name": "pkg:docker/multi/app@1.0?platform=linux%2Famd64",
                                     "digest": {"sha256": m_amd.digest[7:]}}],
                        "predicate": {"spdxVersion": "SPDX-2.3", "name": "sbom", "packages": []}})
    att_layer = Layer(raw=statement, media_type=MT_IN_TOTO,
                      annotations={"in-toto.io/predicate-type": "https://spdx.dev/Document"})
    att = Image([att_layer], {"os": "unknown", "architecture": "unknown"},
                config={"architecture": "unknown", "os": "unknown", "config": {},
                        "rootfs": {"type": "layers", "diff_ids": [att_layer.diff_id]}})
    unknown = {"architecture": "unknown", "os": "unknown"}
    multi = Index([(m_amd, amd, None), (m_arm, arm, None),
                   (att, unknown, {"vnd.docker.reference.digest": m_amd.digest,
                                   "vnd.docker.reference.type": "attestation-manifest"})])
    out.append(("multi/app", "1.0", multi))

    docker = Image([Layer([("etc", None), ("etc/os-release", os_release(
        "debian", "Debian GNU/Linux", "12", "Debian GNU/Linux 12 (bookworm)"))], MT_DOCKER_LAYER),
        Layer([("app", None), ("app/run.sh", b"#!/bin/sh\necho docker\n")], MT_DOCKER_LAYER)], amd, docker=True)
    out.append(("docker/app", "1.0", docker))

    d_amd = Image([Layer([("etc", None), ("etc/os-release", os_release("alpine", "Alpine Linux", "3.19.1",
                                                                         "Alpine Linux v3.19")),
                          ("etc/alpine-release", b"3.19.1\n")], MT_DOCKER_LAYER)], amd, docker=True)
    d_arm = Image([Layer([("etc", None), ("etc/os-release", os_release("alpine", "Alpine Linux", "3.19.1",
                                                                         "Alpine Linux v3.19")),
                          ("etc/alpine-release", b"3.19.1\n"), ("etc/arch", b"arm64\n")], MT_DOCKER_LAYER)],
                  arm, docker=True)
    out.append(("dockerlist/app", "1.0", Index([(d_amd, amd, None), (d_arm, arm, None)], docker=True)))

    public = Image([Layer([("etc", None), ("etc/os-release", os_release("alpine", "Alpine Linux", "3.19.1",
                                                                          "Alpine Linux v3.19")),
                           ("etc/alpine-release", b"3.19.1\n")])], amd)
    out.append(("public/app", "1.0", public))

    plain = Image([Layer([("etc", None), ("etc/os-release", os_release("debian", "Debian GNU/Linux", "12",
                                                                         "Debian GNU/Linux 12 (bookworm)"))],
                         MT_OCI_LAYER_TAR)], amd)
    out.append(("plain/app", "1.0", plain))

    tagged = Image([Layer([("hello.txt", b"tags paging\n")])], amd)
    for i in range(23):
        out.append(("tags/app", f"t{i:02d}", tagged))

    payload = jbytes({"critical": {"identity": {"docker-reference": "localhost/single/app"},
                                   "image": {"docker-manifest-digest": single.digest},
                                   "type": "cosign container image signature"}, "optional": None})
    sig_layer = Layer(raw=payload, media_type=MT_COSIGN_SIG,
                      annotations={"dev.cosignproject.cosign/signature":
                                   base64.b64encode(hashlib.sha512(payload).digest()).decode()})
    sig = Image([sig_layer], None, config={"architecture": "", "os": "", "config": {},
                                           "rootfs": {"type": "layers", "diff_ids": [sig_layer.diff_id]}})
    out.append(("single/app", single.digest.replace(":", "-") + ".sig", sig))

    chart = Layer([("app", None),
                   ("app/Chart.yaml", b"apiVersion: v2\nname: app\nversion: 0.1.0\ntype: application\n"),
                   ("app/values.yaml", b"replicaCount: 1\nimage:\n  repository: single/app\n  tag: \"1.0\"\n")],
                  MT_HELM_CHART)
    helm = Image([chart], None, config={"name": "app", "version": "0.1.0", "apiVersion": "v2",
                                        "type": "application", "description": "fixture chart"},
                 config_media_type=MT_HELM_CONFIG)
    out.append(("chart/app", "0.1.0", helm))

    win_plat = {"os": "windows", "architecture": "amd64", "os.version": "10.0.20348.2227"}
    win = Image([Layer([("Files", None), ("Files/app", None), ("Files/app/hello.txt", b"windows\r\n"),
                        ("Hives", None)])], win_plat)
    out.append(("win/app", "1.0", win))
    return out


# ----------------------------------------------------------------------------------------------- push

class BlobStore:
    """The expected bytes on disk as an OCI image layout: OUT/blobs/sha256/<hex>, OUT/index.json, OUT/oci-layout."""

    def __init__(self, out: Path | None):
        self.out = out
        if out:
            (out / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
            (out / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def put(self, digest: str, data: bytes) -> None:
        if self.out:
            p = self.out / "blobs" / "sha256" / digest[7:]
            if not p.exists():
                write_atomic(p, data)

    def index(self, refs: list[dict]) -> None:
        if not self.out:
            return
        p = self.out / "index.json"
        old = json.loads(p.read_text())["manifests"] if p.exists() else []
        names = {r["annotations"]["org.opencontainers.image.ref.name"] for r in refs}
        keep = [m for m in old if m.get("annotations", {}).get("org.opencontainers.image.ref.name") not in names]
        write_atomic(p, json.dumps({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": keep + refs}, indent=1))


def _push_image(c: RegistryClient, store: BlobStore, repo: str, img: Image, done: set) -> None:
    for digest, data in img.blobs():
        store.put(digest, data)
        if (repo, digest) not in done:
            c.upload_blob(repo, data, digest)
            done.add((repo, digest))
    store.put(img.digest, img.manifest)
    if (repo, img.digest) not in done:
        c.put_manifest(repo, img.digest, img.manifest, img.media_type)
        done.add((repo, img.digest))


def push_basic(c: RegistryClient, store: BlobStore) -> dict:
    images: dict[str, dict] = {}
    refs, done = [], set()
    for repo, tag, obj in build_basic():
        if isinstance(obj, Index):
            for img, _, _ in obj.entries:
                _push_image(c, store, repo, img, done)
            store.put(obj.digest, obj.manifest)
        else:
            _push_image(c, store, repo, obj, done)
        c.put_manifest(repo, tag, obj.manifest, obj.media_type)
        rec = dict(obj.record(), repository=repo, tag=tag, reference=f"{repo}:{tag}")
        images[f"{repo}:{tag}"] = rec
        refs.append({"mediaType": obj.media_type, "digest": obj.digest, "size": obj.size,
                     "annotations": {"org.opencontainers.image.ref.name": f"{repo}:{tag}"}})
    store.index(refs)
    repos = sorted({k.split(":", 1)[0] for k in images})
    tags = {r: sorted(v["tag"] for v in images.values() if v["repository"] == r) for r in repos}
    return {"images": images, "repositories": repos, "tags": tags}


def push_many(c: RegistryClient, store: BlobStore, count: int = 250, workers: int = 8) -> dict:
    layer = Layer([("shared", None), ("shared/data.txt", b"one layer shared by every many/repo-NNN\n" * 64)])
    img = Image([layer], {"os": "linux", "architecture": "amd64"})
    repos = [f"many/repo-{i:03d}" for i in range(count)]
    first = repos[0]
    t0 = time.monotonic()
    done: set = set()
    _push_image(c, store, first, img, done)
    c.put_manifest(first, "latest", img.manifest, img.media_type)
    statuses: list[int] = []
    lock = threading.Lock()

    def one(repo: str) -> None:
        got = [c.mount_blob(repo, img.config_digest, first), c.mount_blob(repo, layer.digest, first)]
        with lock:
            statuses.extend(got)
        if got != [201, 201]:
            raise FixtureError(f"cross-repository mount into {repo} from {first} answered {got}, expected 201")
        c.put_manifest(repo, "latest", img.manifest, img.media_type, mount_scopes(repo, first))

    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        for f in [ex.submit(one, r) for r in repos[1:]]:
            f.result(timeout=120)
    secs = time.monotonic() - t0
    store.index([{"mediaType": img.media_type, "digest": img.digest, "size": img.size,
                  "annotations": {"org.opencontainers.image.ref.name": "many/repo-NNN:latest"}}])
    rec = dict(img.record(), tag="latest")
    return {"repositories": repos, "tag": "latest", "image": rec, "manifest_digest": img.digest,
            "mounts": len(statuses), "mounts_201": statuses.count(201), "mount_from": first,
            "many_seconds": round(secs, 3)}


def push_many_tags(c: RegistryClient, store: BlobStore, count: int = 1100, workers: int = 8) -> dict:
    """One image under `count` tags of a nested repository (tags are cheap: one manifest PUT each), for
    paging past 1000 names. docker-registry 2.8 answers every tag at once, whatever `n` asks."""
    repo = "paging/deep/app"
    img = Image([Layer([("tagged.txt", b"one image, many tags\n")])], {"os": "linux", "architecture": "amd64"})
    done: set = set()
    _push_image(c, store, repo, img, done)
    tags = [f"v{i:04d}" for i in range(count)]
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        for f in [ex.submit(c.put_manifest, repo, t, img.manifest, img.media_type) for t in tags]:
            f.result(timeout=120)
    return {"repositories": [repo], "repository": repo, "tags": tags, "manifest_digest": img.digest}


def push_operations(c: RegistryClient, store: BlobStore) -> dict:
    """Images the service's operation tests mix with the basic set: an image whose compressed layer is
    3 MiB of random bytes (for a low SNYK_MAX_IMAGE_SIZE_IN_BYTES), and a hostile one whose gzip layer is
    cut in half (a scan of it must fail precisely, not crash)."""
    rnd = random.Random(9)
    big = Image([Layer([("data", None), ("data/noise.bin", rnd.randbytes(3 << 20))])],
                {"os": "linux", "architecture": "amd64"})
    whole = Layer([("etc", None), ("etc/os-release", b'ID=debian\nVERSION_ID="12"\n')])
    cut = Layer(raw=whole.blob[: len(whole.blob) // 2], media_type=MT_OCI_LAYER_GZIP)
    cut.diff_id = whole.diff_id
    hostile = Image([cut], {"os": "linux", "architecture": "amd64"})
    images, done = {}, set()
    for repo, img in (("big/app", big), ("hostile/cutgzip", hostile)):
        _push_image(c, store, repo, img, done)
        c.put_manifest(repo, "1.0", img.manifest, img.media_type)
        images[f"{repo}:1.0"] = dict(img.record(), repository=repo, tag="1.0", reference=f"{repo}:1.0")
    return {"images": images, "repositories": sorted(k.split(":", 1)[0] for k in images)}


def push_set(url: str, set_name: str, ca: str | None = None, username: str | None = None,
             password: str | None = None, out_dir: str | os.PathLike | None = None) -> dict:
    """Push one content set; returns (and with out_dir writes to OUT/pushed-<set>.json) what was pushed."""
    out = Path(out_dir).resolve() if out_dir else None
    store = BlobStore(out)
    t0 = time.monotonic()
    c = RegistryClient(url, ca, username, password)
    try:
        c.ping()
        if set_name == "basic":
            res = push_basic(c, store)
        elif set_name == "many":
            res = push_many(c, store)
        elif set_name == "manytags":
            res = push_many_tags(c, store)
        elif set_name == "operations":
            res = push_operations(c, store)
        else:
            raise FixtureError(f"unknown set {set_name!r}: use basic, many, manytags or operations")
    finally:
        c.close()
    res = {"set": set_name, "url": url, "host": urllib.parse.urlsplit(url).netloc, "seconds": 0.0,
           "token_requests": c.token_requests, **res,
           "blobs_dir": str(out / "blobs" / "sha256") if out else None,
           "oci_layout": str(out) if out else None}
    res["seconds"] = round(time.monotonic() - t0, 3)
    if out:
        write_atomic(out / f"pushed-{set_name}.json", json.dumps(res, indent=1) + "\n")
    return res


def cmd_push(a) -> int:
    url, ca, user, pw = a.url, a.ca, a.username, a.password
    if a.fixture:
        info = json.loads((Path(a.fixture) / "fixture.json").read_text())
        url, ca = url or info["url"], ca or info["ca"]
        user, pw = user or info["username"], pw or info["password"]
    if not url:
        print("fixture: push needs --url or --fixture", file=sys.stderr)
        return 2
    out = a.out or (str(Path(a.fixture) / "expected") if a.fixture else None)
    try:
        res = push_set(url, a.set, ca, user, pw, out)
    except (FixtureError, httpx.HTTPError) as e:
        print(f"fixture: push {a.set} to {url} failed: {e}", file=sys.stderr)
        return 1
    if a.summary:
        res = {k: res[k] for k in res if k in ("set", "url", "seconds", "many_seconds", "mounts", "mounts_201",
                                               "token_requests", "oci_layout")} | {"repositories": len(res["repositories"])}
    print(json.dumps(res))
    return 0


# ----------------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start", help="start docker-registry (and a token server) on 127.0.0.1")
    s.add_argument("--auth", choices=["none", "htpasswd", "token"], default="none")
    s.add_argument("--tls", action="store_true")
    s.add_argument("--dir", required=True)
    s.add_argument("--delete", action="store_true", help="enable storage.delete (manifest/blob DELETE)")
    s.add_argument("--detach", action="store_true", help="write DIR/fixture.json, run in the background, return")
    s.add_argument("--token-ttl", type=int, default=300, help="token expires_in seconds (the registry adds 60 s leeway)")
    s.add_argument("--token-alg", choices=["ES256", "RS256"], default="ES256")
    s.add_argument("--token-key-header", choices=["kid", "x5c"], default="kid")
    s.add_argument("--max-lifetime", type=float, default=DEFAULT_MAX_LIFETIME)
    s.add_argument("--htpasswd-user", metavar="NAME:PASSWORD", help="with --auth htpasswd: this user, not a made-up one")
    s.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    s.add_argument("--_ready-fd", type=int, help=argparse.SUPPRESS)
    s.set_defaults(fn=cmd_start)
    t = sub.add_parser("stop", help="stop a fixture started with --detach")
    t.add_argument("--dir", required=True)
    t.set_defaults(fn=cmd_stop)
    u = sub.add_parser("push", help="push a test content set")
    u.add_argument("--fixture", help="a --detach fixture's DIR: url, ca and credentials from DIR/fixture.json")
    u.add_argument("--url")
    u.add_argument("--ca")
    u.add_argument("--username")
    u.add_argument("--password")
    u.add_argument("--set", required=True, choices=["basic", "many", "manytags", "operations"])
    u.add_argument("--out", help="write OUT/pushed-<set>.json and the expected blobs (OCI layout) here "
                                 "(default: FIXTURE/expected with --fixture, else nothing written)")
    u.add_argument("--summary", action="store_true", help="print a short summary instead of the whole record")
    u.set_defaults(fn=cmd_push)
    a = p.parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
