#!/usr/bin/env python3
"""STAND-INS for the registry vendors' own services, for tests only.

The vendor APIs cannot run here (Docker Hub's hub API and auth.docker.io, Harbor's API and token service,
Quay, GitHub's and GitLab's token services, DigitalOcean, ACR, GCR/Artifact Registry, Artifactory, Nexus),
so each vendor gets a stand-in built from that vendor's documented request/response examples (the doc is
named on each class). A stand-in does only what is vendor-specific: its authentication (Basic or its token
service, with its rules on who may list what), its listing API and paging, its path prefix. Every `/v2/`
request it accepts is proxied to the real `docker-registry` (distribution 2.8.2, started by fixture.py
without auth), so manifests, blobs, catalog and tags are the real registry's answers.

    vendor_standins.py --registry URL --dir DIR [--max-lifetime S]

prints one JSON line (also DIR/standins.json): `{"control_url", "vendors": {<name>: {"url", ...}}}` and serves
on 127.0.0.1 until SIGTERM/SIGINT. Control: `GET <control_url>/record` -> `{"requests": [{"vendor", "server",
"method", "path", "query", "authorization" (full value or null), "body", "user_agent"}], "tokens": [{"vendor", "user",
"scopes", "granted"}]}`; `POST <control_url>/reset` clears it. Users and passwords are in the JSON line.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import re
import secrets
import signal
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture import jbytes, write_atomic  # noqa: E402

PASSTHROUGH_HEADERS = ("Content-Type", "Docker-Content-Digest", "Docker-Distribution-Api-Version", "Link", "Location")


class Record:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.tokens: list[dict] = []

    def snapshot(self) -> dict:
        with self.lock:
            return {"requests": list(self.requests), "tokens": list(self.tokens)}

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.tokens.clear()


def basic_user(h) -> tuple[str, str] | None:
    v = h.headers.get("Authorization") or ""
    if not v.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(v[6:].strip()).decode().partition(":")
    except Exception:  # noqa: BLE001 - a malformed header is simply no user
        return None
    return user, password


def send(h, status: int, body: bytes, ctype: str | None = "application/json", headers: dict | None = None,
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


def registry_error(h, status: int, code: str, message: str, headers: dict | None = None, head: bool = False) -> None:
    send(h, status, jbytes({"errors": [{"code": code, "message": message, "detail": None}]}), headers=headers, head=head)


def required_scope(v2path: str, tag_actions: str = "pull") -> str | None:
    """The scope a distribution request needs (distribution's token auth spec)."""
    if v2path in ("/v2/", "/v2"):
        return None
    if v2path == "/v2/_catalog":
        return "registry:catalog:*"
    m = re.match(r"^/v2/(.+)/(tags/list|manifests/[^/]+|blobs/[^/]+)$", v2path)
    if not m:
        return None
    return f"repository:{m[1]}:{tag_actions if m[2] == 'tags/list' else 'pull'}"


def covers(granted: list[str], needed: str) -> bool:
    typ, _, rest = needed.rpartition(":")
    want = set(rest.split(","))
    have: set[str] = set()
    for g in granted:
        t, _, actions = g.rpartition(":")
        if t == typ:
            have |= set(actions.split(","))
    return want <= have or "*" in have


class Server:
    """One listening port of a stand-in (its registry, its token service, its API)."""

    def __init__(self, standin: "StandIn", role: str, handler):
        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = f"{standin.name}-standin/1"
            timeout = 30

            def log_message(self, *a):
                pass

            def _go(self, method):
                body = b""
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    body = self.rfile.read(n)
                u = urllib.parse.urlsplit(self.path)
                with standin.record.lock:
                    standin.record.requests.append({
                        "vendor": standin.name, "server": role, "method": method, "path": u.path, "query": u.query,
                        "authorization": self.headers.get("Authorization"), "body": body.decode("utf-8", "replace"),
                        "user_agent": self.headers.get("User-Agent")})
                try:
                    handler(self, method, u.path, urllib.parse.parse_qs(u.query, keep_blank_values=True), body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def do_GET(self):
                self._go("GET")

            def do_HEAD(self):
                self._go("HEAD")

            def do_POST(self):
                self._go("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


class StandIn:
    """What every stand-in shares: a registry port proxying /v2 to the real registry, users, and (for
    vendors with a token service) opaque bearer tokens remembered with the scopes they grant."""
    name = ""
    prefix = ""           # a path before /v2/ (Artifactory, Nexus)
    service = ""
    tag_actions = "pull"  # what a tags/list needs (ACR: metadata_read)
    users: dict[str, str] = {}

    def __init__(self, registry_url: str, record: Record):
        self.registry = urllib.parse.urlsplit(registry_url)
        self.record = record
        self.tokens: dict[str, list[str]] = {}
        self.lock = threading.Lock()
        self.servers = {"registry": Server(self, "registry", self.handle_registry)}
        self.url = self.servers["registry"].url

    # ------------------------------------------------------------------ what a vendor may override
    def realm(self) -> str | None:
        """The token realm (None: Basic auth on the registry itself)."""
        return f"{self.url}{self.prefix}/v2/token"

    def grant(self, user: str | None, scopes: list[str]) -> list[str]:
        """The scopes a signed-in user gets (anonymous users get nothing)."""
        return list(scopes) if user else []

    def challenge_scope(self, needed: str | None) -> str | None:
        return needed

    def rewrite_link(self, link: str) -> str | None:
        return link

    # ------------------------------------------------------------------ shared behaviour
    def info(self) -> dict:
        return {"url": self.url, "base": self.url + self.prefix, "host": self.url[len("http://"):],
                "users": self.users, "service": self.service,
                **{f"{role}_url": s.url for role, s in self.servers.items() if role != "registry"}}

    def check_user(self, h) -> str | None:
        b = basic_user(h)
        if b and self.users.get(b[0]) == b[1]:
            return b[0]
        return None

    def token_endpoint(self, h, method, path, q, body) -> None:
        """distribution's token protocol: GET realm?service=&scope=... with Basic; {"token","access_token"}."""
        if h.headers.get("Authorization") and self.check_user(h) is None:
            return send(h, 401, jbytes({"details": "incorrect username or password"}),
                        headers={"WWW-Authenticate": f'Basic realm="{self.name}"'})
        user = self.check_user(h)
        scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
        granted = self.grant(user, scopes)
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = granted
        with self.record.lock:
            self.record.tokens.append({"vendor": self.name, "user": user, "scopes": scopes, "granted": granted,
                                       "service": (q.get("service") or [""])[0]})
        send(h, 200, jbytes({"token": token, "access_token": token, "expires_in": 300}))

    def authorized(self, h, needed: str | None, head: bool) -> bool:
        realm = self.realm()
        if realm is None:
            if self.check_user(h):
                return True
            registry_error(h, 401, "UNAUTHORIZED", "authentication required",
                           {"WWW-Authenticate": f'Basic realm="{self.name}"'}, head)
            return False
        v = h.headers.get("Authorization") or ""
        granted = None
        if v.lower().startswith("bearer "):
            with self.lock:
                granted = self.tokens.get(v[7:].strip())
        if granted is not None and (needed is None or covers(granted, needed)):
            return True
        c = f'Bearer realm="{realm}",service="{self.service}"'
        scope = self.challenge_scope(needed)
        if scope:
            c += f',scope="{scope}"'
        if granted is not None:
            c += ',error="insufficient_scope"'
        registry_error(h, 401, "UNAUTHORIZED", "authentication required", {"WWW-Authenticate": c}, head)
        return False

    def handle_registry(self, h, method, path, q, body) -> None:
        realm = self.realm()
        if realm is not None and realm.startswith(self.url + "/") and path == urllib.parse.urlsplit(realm).path:
            return self.token_endpoint(h, method, path, q, body)
        if not path.startswith(self.prefix + "/v2"):
            return self.handle_other(h, method, path, q, body)
        v2 = path[len(self.prefix):]
        head = method == "HEAD"
        if method not in ("GET", "HEAD"):
            return registry_error(h, 405, "UNSUPPORTED", "the stand-in is read-only", head=head)
        if not self.authorized(h, required_scope(v2, self.tag_actions), head):
            return
        self.proxy(h, method, v2, head)

    def handle_other(self, h, method, path, q, body) -> None:
        registry_error(h, 404, "NOT_FOUND", f"nothing at {path}", head=method == "HEAD")

    def proxy(self, h, method: str, v2: str, head: bool, q: str | None = None) -> None:
        """The real registry's answer, without the client's Authorization (the registry has no auth)."""
        query = urllib.parse.urlsplit(h.path).query if q is None else q
        conn = http.client.HTTPConnection(self.registry.hostname, self.registry.port, timeout=30)
        try:
            conn.request(method, v2 + (f"?{query}" if query else ""),
                         headers={"Accept": h.headers.get("Accept") or "*/*"})
            r = conn.getresponse()
            data = r.read()
            headers = {}
            for k in PASSTHROUGH_HEADERS:
                v = r.getheader(k)
                if v is None or k == "Content-Type":
                    continue
                if k == "Link":
                    v = self.rewrite_link(v)
                    if v is None:
                        continue
                headers[k] = v
            send(h, r.status, data, r.getheader("Content-Type"), headers, head)
        finally:
            conn.close()

    def registry_names(self) -> list[str]:
        """Every repository of the real registry (its catalog, all pages)."""
        conn = http.client.HTTPConnection(self.registry.hostname, self.registry.port, timeout=30)
        try:
            conn.request("GET", "/v2/_catalog?n=1000")
            return json.loads(conn.getresponse().read())["repositories"]
        finally:
            conn.close()


# ============================================================================================== vendors

class HarborStandIn(StandIn):
    """Harbor 2.x. Docs: goharbor/harbor api/v2.0/swagger.yaml (GET /projects and
    /projects/{project_name}/repositories: `page` from 1, `page_size` default 10 and at most 100, response
    headers X-Total-Count and Link `</api/v2.0/projects?page=2&page_size=10>; rel="next"`, Basic auth),
    and Harbor's token service at /service/token (service "harbor-registry"): only a system admin's token
    is granted `registry:catalog:*`, so the catalog answers 401 to anyone else."""
    name = "harbor-cr"
    service = "harbor-registry"
    users = {"admin": "Harbor12345", "dev": "dev-secret-7"}

    def realm(self):
        return f"{self.url}/service/token"

    def grant(self, user, scopes):
        if not user:
            return []
        return [s for s in scopes if user == "admin" or not s.startswith("registry:catalog")]

    def handle_other(self, h, method, path, q, body):
        if not path.startswith("/api/v2.0/"):
            return super().handle_other(h, method, path, q, body)
        if self.check_user(h) is None:
            return send(h, 401, jbytes({"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]}))
        try:
            page, size = int((q.get("page") or ["1"])[0]), int((q.get("page_size") or ["10"])[0])
        except ValueError:
            return send(h, 400, jbytes({"errors": [{"code": "BAD_REQUEST", "message": "bad page"}]}))
        if size > 100 or size < 1 or page < 1:
            return send(h, 400, jbytes({"errors": [{"code": "BAD_REQUEST", "message": "page_size must be 1..100"}]}))
        names = self.registry_names()
        if path == "/api/v2.0/projects":
            projects = sorted({n.split("/", 1)[0] for n in names if "/" in n})
            items = [{"project_id": i + 1, "name": p, "public": False} for i, p in enumerate(projects)]
        else:
            m = re.fullmatch(r"/api/v2.0/projects/([^/]+)/repositories", path)
            if not m:
                return send(h, 404, jbytes({"errors": [{"code": "NOT_FOUND", "message": path}]}))
            project = urllib.parse.unquote(m[1])
            items = [{"id": i + 1, "name": n, "project_id": 1} for i, n in enumerate(sorted(names))
                     if n.startswith(project + "/")]
        chunk = items[(page - 1) * size: page * size]
        headers = {"X-Total-Count": str(len(items))}
        if page * size < len(items):
            headers["Link"] = f'<{path}?page={page + 1}&page_size={size}>; rel="next"'
        send(h, 200, jbytes(chunk), headers=headers)


class DockerHubStandIn(StandIn):
    """Docker Hub. Docs: Docker Hub API reference (docs.docker.com/reference/api/hub/latest): POST
    /v2/auth/token `{"identifier": "<user>", "secret": "<password or PAT>"}` -> `{"access_token": "<jwt>"}`;
    GET /v2/namespaces/{namespace}/repositories?page_size= (at most 100) -> `{"count", "next" (absolute URL
    or null), "previous", "results": [{"name", "namespace", "repository_type", ...}]}` with the Bearer token;
    and the registry's token auth (docs.docker.com/registry/spec/auth/token): realm
    https://auth.docker.io/token, service registry.docker.io, on another host than the registry. Here:
    three ports (registry, auth, hub). Namespace `many` has the fixture's 250 `many/repo-NNN`; namespace
    `ratelimited` lists the same names, and its second page answers one 429 `Retry-After: 1` first."""
    name = "docker-hub"
    service = "registry.docker.io"
    users = {"many": "dckr_pat_hub-secret-1"}

    def __init__(self, registry_url, record):
        super().__init__(registry_url, record)
        self.servers["auth"] = Server(self, "auth", self.handle_auth)
        self.servers["hub"] = Server(self, "hub", self.handle_hub)
        self.hub_tokens: set[str] = set()
        self.limited: set[str] = set()

    def realm(self):
        return f"{self.servers['auth'].url}/token"

    def grant(self, user, scopes):
        return [s for s in scopes if s.startswith("repository:")]  # public pulls need no sign-in

    def handle_auth(self, h, method, path, q, body):
        if path != "/token":
            return send(h, 404, b"{}")
        self.token_endpoint(h, method, path, q, body)

    def handle_hub(self, h, method, path, q, body):
        if path == "/v2/auth/token" and method == "POST":
            try:
                req = json.loads(body)
            except ValueError:
                return send(h, 400, jbytes({"message": "invalid JSON"}))
            if self.users.get(req.get("identifier")) != req.get("secret"):
                return send(h, 401, jbytes({"errinfo": {}, "detail": "Incorrect authentication credentials",
                                            "message": "Incorrect authentication credentials"}))
            token = "hubjwt." + secrets.token_urlsafe(24)
            with self.lock:
                self.hub_tokens.add(token)
            return send(h, 200, jbytes({"access_token": token}))
        m = re.fullmatch(r"/v2/namespaces/([^/]+)/repositories", path)
        if not m or method != "GET":
            return send(h, 404, jbytes({"message": "object not found"}))
        v = h.headers.get("Authorization")
        with self.lock:
            valid = v is None or (v.startswith("Bearer ") and v[7:] in self.hub_tokens)
        if not valid:  # public repositories list without a sign-in; a bad token is refused
            return send(h, 401, jbytes({"message": "authentication required"}))
        ns = m[1]
        size, page = int((q.get("page_size") or ["10"])[0]), int((q.get("page") or ["1"])[0])
        if ns == "ratelimited" and page == 2:
            # The hub's pull-rate answer (docs: "Docker Hub usage and limits"), once per page URL.
            with self.lock:
                first = h.path not in self.limited
                self.limited.add(h.path)
            if first:
                return send(h, 429, jbytes({"message": "Too Many Requests"}), headers={"Retry-After": "1"})
        if size > 100:
            return send(h, 400, jbytes({"message": "page_size must be at most 100"}))
        source = "many" if ns == "ratelimited" else ns
        names = sorted(n.split("/", 1)[1] for n in self.registry_names() if n.startswith(source + "/") and n.count("/") == 1)
        chunk = names[(page - 1) * size: page * size]
        hub = self.servers["hub"].url
        nxt = f"{hub}{path}?page={page + 1}&page_size={size}" if page * size < len(names) else None
        send(h, 200, jbytes({"count": len(names), "next": nxt, "previous": None,
                             "results": [{"name": n, "namespace": ns, "repository_type": "image"} for n in chunk]}))


class AzureStandIn(StandIn):
    """Azure Container Registry. Docs: Azure/acr docs/AAD-OAuth.md and "Azure Container Registry
    authentication" (learn.microsoft.com): the registry challenges with realm https://<registry>/oauth2/token,
    service <registry>; GET /oauth2/token?service=&scope= with the admin user's Basic credentials gives
    `{"access_token"}`; listing tags needs the scope action `metadata_read`
    (`repository:<repo>:metadata_read`), pulling needs `pull`."""
    name = "acr"
    tag_actions = "metadata_read"
    users = {"myregistry": "acr-admin-secret-3"}

    def __init__(self, registry_url, record):
        super().__init__(registry_url, record)
        self.service = self.url[len("http://"):]

    def realm(self):
        return f"{self.url}/oauth2/token"


class QuayStandIn(StandIn):
    """Quay. Docs: Quay API docs ("Docker Registry v2 API", pagination of /v2/_catalog): the Link's
    `next_page` is an opaque, encrypted cursor that must be followed as given; realm https://quay.io/v2/auth,
    service quay.io. A rebuilt `last=` cursor is refused with 400."""
    name = "quay-cr"
    service = "quay.io"
    users = {"org+robot": "quay-robot-secret-4"}

    def __init__(self, registry_url, record):
        super().__init__(registry_url, record)
        self.cursors: dict[str, str] = {}

    def realm(self):
        return f"{self.url}/v2/auth"

    def handle_registry(self, h, method, path, q, body):
        if path == "/v2/_catalog" and method == "GET":
            if "last" in q:
                return registry_error(h, 400, "INVALID_REQUEST", "paging uses the opaque next_page cursor")
            if not self.authorized(h, "registry:catalog:*", False):
                return
            n = int((q.get("n") or ["100"])[0])
            last = ""
            if "next_page" in q:
                with self.lock:
                    last = self.cursors.get(q["next_page"][0], None)
                if last is None:
                    return registry_error(h, 400, "INVALID_REQUEST", "unknown next_page cursor")
            qs = urllib.parse.urlencode({"n": n, **({"last": last} if last else {})})
            conn = http.client.HTTPConnection(self.registry.hostname, self.registry.port, timeout=30)
            try:
                conn.request("GET", f"/v2/_catalog?{qs}")
                r = conn.getresponse()
                data, more = r.read(), r.getheader("Link") is not None
            finally:
                conn.close()
            page = json.loads(data)["repositories"]
            headers = {}
            if more and page:
                cur = secrets.token_urlsafe(16)
                with self.lock:
                    self.cursors[cur] = page[-1]
                headers["Link"] = f'</v2/_catalog?n={n}&next_page={cur}>; rel="next"'
            return send(h, 200, jbytes({"repositories": page}), headers=headers)
        super().handle_registry(h, method, path, q, body)


class GCRStandIn(StandIn):
    """Google Container Registry and Artifact Registry. Docs: cloud.google.com "Authentication methods"
    (JSON key file: `docker login -u _json_key --password-stdin https://gcr.io`, the key file's contents
    as the password; token realm https://gcr.io/v2/token, service gcr.io). The user must be `_json_key`
    and the password the key exactly as given."""
    name = "gcr"
    service = "gcr.io"
    KEY = ('{ "type": "service_account", "project_id": "p-1", "private_key_id": "k1", '
           '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n", '
           '"client_email": "scanner@p-1.iam.gserviceaccount.com" }')
    users = {"_json_key": KEY}

    def realm(self):
        return f"{self.url}/v2/token"


class GitHubStandIn(StandIn):
    """GitHub Container Registry. Docs: docs.github.com "Working with the Container registry" (ghcr.io,
    sign in with a personal access token; realm https://ghcr.io/token, service ghcr.io). It serves no usable
    /v2/_catalog (here: 404 and counted)."""
    name = "github-cr"
    service = "ghcr.io"
    users = {"octocat": "ghp_github-secret-5"}

    def realm(self):
        return f"{self.url}/token"

    def handle_registry(self, h, method, path, q, body):
        if path == "/v2/_catalog":
            return registry_error(h, 404, "NOT_FOUND", "catalog is not offered")
        super().handle_registry(h, method, path, q, body)


class GitLabStandIn(StandIn):
    """GitLab Container Registry. Docs: docs.gitlab.com "Authenticate with the container registry" and the
    registry's token auth: realm https://gitlab.com/jwt/auth (the GitLab instance, another host than
    registry.gitlab.com), service container_registry. No catalog (404, counted). Two ports: registry, auth."""
    name = "gitlab-cr"
    service = "container_registry"
    users = {"gitlab-ci-token": "glpat-gitlab-secret-6"}

    def __init__(self, registry_url, record):
        super().__init__(registry_url, record)
        self.servers["auth"] = Server(self, "auth", lambda h, m, p, q, b: self.token_endpoint(h, m, p, q, b)
                                      if p == "/jwt/auth" else send(h, 404, b"{}"))

    def realm(self):
        return f"{self.servers['auth'].url}/jwt/auth"

    def handle_registry(self, h, method, path, q, body):
        if path == "/v2/_catalog":
            return registry_error(h, 404, "NOT_FOUND", "catalog is not offered")
        super().handle_registry(h, method, path, q, body)


class DigitalOceanStandIn(StandIn):
    """DigitalOcean Container Registry. Docs: docs.digitalocean.com "How to Use Your Container Registry"
    (docker login registry.digitalocean.com with an API token as both user name and password; realm
    https://api.digitalocean.com/v2/registry/auth, service registry.digitalocean.com, another host).
    The token service accepts only user == password == the token."""
    name = "digitalocean-cr"
    service = "registry.digitalocean.com"
    TOKEN = "dop_v1_do-secret-8"
    users = {TOKEN: TOKEN}

    def __init__(self, registry_url, record):
        super().__init__(registry_url, record)
        self.servers["auth"] = Server(self, "auth", lambda h, m, p, q, b: self.token_endpoint(h, m, p, q, b)
                                      if p == "/v2/registry/auth" else send(h, 404, b"{}"))

    def realm(self):
        return f"{self.servers['auth'].url}/v2/registry/auth"


class ArtifactoryStandIn(StandIn):
    """JFrog Artifactory, repository path method. Docs: JFrog "Docker Registry" / "Getting Started with
    Artifactory as a Docker Registry" (the repository path method: every /v2 URL under
    /artifactory/api/docker/<repo-key>; token realm https://<host>/artifactory/api/docker/<repo-key>/v2/token).
    Catalog Links come with the prefix."""
    name = "artifactory-cr"
    prefix = "/artifactory/api/docker/docker-local"
    service = "artifactory"
    users = {"deployer": "jfrog-secret-9"}

    def rewrite_link(self, link):
        return link.replace("</v2/", f"<{self.prefix}/v2/")


class NexusStandIn(StandIn):
    """Sonatype Nexus Repository 3. Docs: help.sonatype.com "Docker Registry" (path-based routing
    /repository/<repo-name>/v2/..., Basic realm "Sonatype Nexus Repository Manager"); group repositories
    page with `last=` and send no Link, even on full pages."""
    name = "nexus-cr"
    prefix = "/repository/docker-group"
    users = {"nexus-reader": "nexus-secret-10"}

    def realm(self):
        return None

    def rewrite_link(self, link):
        return None


VENDORS = [HarborStandIn, DockerHubStandIn, AzureStandIn, QuayStandIn, GCRStandIn, GitHubStandIn, GitLabStandIn,
           DigitalOceanStandIn, ArtifactoryStandIn, NexusStandIn]


class Control:
    def __init__(self, record: Record, info: dict):
        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path == "/record":
                    return send(self, 200, jbytes(record.snapshot()))
                if self.path == "/info":
                    return send(self, 200, jbytes(info))
                send(self, 404, b"{}")

            def do_POST(self):
                if self.path == "/reset":
                    record.reset()
                    return send(self, 200, b"{}")
                send(self, 404, b"{}")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Stand-ins for registry vendors' services (tests only).")
    p.add_argument("--registry", required=True, help="the real registry's URL (fixture.py, no auth)")
    p.add_argument("--dir", required=True)
    p.add_argument("--max-lifetime", type=float, default=1800.0, help="stop by itself after this many seconds")
    a = p.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    record = Record()
    standins = [cls(a.registry, record) for cls in VENDORS]
    info: dict = {"vendors": {s.name: s.info() for s in standins}}
    control = Control(record, info)
    info["control_url"] = control.url
    servers = [control.httpd] + [srv.httpd for s in standins for srv in s.servers.values()]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    Path(a.dir).mkdir(parents=True, exist_ok=True)
    write_atomic(Path(a.dir) / "standins.json", json.dumps(info, indent=1) + "\n")
    print(json.dumps(info), flush=True)
    try:
        stop.wait(a.max_lifetime)
    finally:
        for srv in servers:
            srv.shutdown()
            srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
