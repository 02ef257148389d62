"""The outside service's side of the demo: what Snyk does with a broker. It calls the broker server's
/broker/<token>/... (list, tags, scan), receives the results the agent sends back up through the broker
client, the tunnel and the server's relay (BROKER_UPSTREAM_URL points at the receiver here), and writes
each result to the reports folder and a summary."""
from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path

from parts import DemoError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "registry"))
import callback_receiver  # noqa: E402  the tests' callback receiver: records every POST it gets

RESULT, DONE = "/api/v2/import/result", "/api/v2/import/done"


class Upstream:
    """The receiver, in this process: BROKER_UPSTREAM_URL."""

    def __init__(self) -> None:
        self.receiver = callback_receiver.Receiver([])
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.receiver.handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def received(self, operation: str) -> list[dict]:
        with self.receiver.lock:
            got = list(self.receiver.requests)
        return [r for r in got if isinstance(r.get("json"), dict) and r["json"].get("operationId") == operation]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def request(method: str, url: str, body: dict | None = None, headers: dict | None = None,
            timeout: float = 90) -> tuple[int, object]:
    """The status and the JSON (else the text) of one request; OSError when nothing answered."""
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def get_json(url: str) -> tuple[int, object]:
    try:
        return request("GET", url, timeout=10)
    except OSError:
        return 0, None


class Broker:
    """Calls to the broker server as the outside service makes them."""

    def __init__(self, server_url: str, token: str):
        self.base = f"{server_url}/broker/{token}"

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 90) -> tuple[int, object]:
        headers = {"content-type": "application/json", "snyk-request-id": str(uuid.uuid4())} if body is not None else {}
        try:
            return request(method, self.base + path, body, headers, timeout)
        except OSError as e:
            raise DemoError(f"{method} /broker/<token>{path}: no answer from the broker server ({e})") from None

    def expect(self, method: str, path: str, status: int, body: dict | None = None) -> object:
        got, answer = self.call(method, path, body)
        if got != status:
            raise DemoError(f"{method} /broker/<token>{path} answered {got}, not {status}: {str(answer)[:300]}")
        return answer

    def images(self) -> list[str]:
        """Every repository:tag, from /list and /list/<repository>."""
        refs = []
        for repo in sorted(self.expect("GET", "/list", 200)):
            for tag in sorted(self.expect("GET", f"/list/{urllib.parse.quote(repo, safe='/')}", 200)):
                refs.append(f"{repo}:{tag}")
        return refs


def counts_of(result: dict) -> tuple[str, dict[str, int]]:
    """The OS and the packages per ecosystem of one snyk-docker-plugin scan result (each dep-graph's
    packages but its root, which is the image or the application target itself)."""
    os_name, counts = "", {}
    for sr in result.get("scanResults", []):
        for fact in sr.get("facts", []):
            if fact.get("type") == "imageOsReleasePrettyName" and fact.get("data"):
                os_name = fact["data"]
            if fact.get("type") != "depGraph":
                continue
            g = fact["data"]
            root = next((n["pkgId"] for n in g["graph"]["nodes"] if n["nodeId"] == g["graph"]["rootNodeId"]), None)
            eco = g["pkgManager"]["name"]
            counts[eco] = counts.get(eco, 0) + sum(1 for p in g["pkgs"] if p["id"] != root)
            if not os_name and g["pkgManager"].get("repositories"):
                os_name = g["pkgManager"]["repositories"][0].get("alias", "")
    return os_name or "-", counts


def report_name(image: str) -> str:
    return image.replace("/", "_").replace(":", "_") + ".json"


def scan_all(broker: Broker, upstream: Upstream, images: list[str], reports: Path, progress,
             timeout: float) -> dict:
    """One POST /scan for every image; returns the rows of the summary once the operation's done arrives."""
    started = time.monotonic()
    answer = broker.expect("POST", "/scan", 202, {"images": images})
    operation = answer["operationId"]
    progress(f"scan accepted: operation {operation}, {len(images)} images")
    rows, seen = [], 0
    deadline = started + timeout
    while True:
        got = upstream.received(operation)
        for r in got[seen:]:
            now = time.monotonic()
            body = r["json"]
            if r["path"] == RESULT:
                row = {"image": body["image"]}
                if "result" in body:
                    row["os"], row["packages"] = counts_of(body["result"])
                    (reports / report_name(body["image"])).write_text(json.dumps(body["result"], indent=1) + "\n")
                    progress(f"  scanned {body['image']}: {sum(row['packages'].values())} packages")
                else:
                    row["error"] = body.get("error", {})
                    progress(f"  failed  {body['image']}: {row['error'].get('code')} {row['error'].get('message')}")
                rows.append(row)
            elif r["path"] == DONE:
                return {"operation": operation, "done": body, "rows": rows,
                        "seconds": round(now - started, 1)}
        seen = len(got)
        if time.monotonic() > deadline:
            raise DemoError(f"the scan's results did not all arrive within {timeout:.0f} s "
                            f"({len(rows)} of {len(images)}); see the agent's log")
        time.sleep(0.2)


def add_durations(rows: list[dict], operation: dict) -> None:
    """Each image's scan time as the agent measured it (its worker's durationMs)."""
    took = {i["image"]: i.get("durationMs") for i in operation.get("images", [])}
    for row in rows:
        if took.get(row["image"]) is not None:
            row["seconds"] = took[row["image"]] / 1000


def summary_text(outcome: dict, registry: str, reports: Path) -> str:
    # Columns are two spaces apart (a reader may split on two or more spaces).
    lines = [f"{'image':<24}  {'OS':<32}  {'packages':<44}  {'seconds':>7}"]
    for row in sorted(outcome["rows"], key=lambda r: r["image"]):
        if "error" in row:
            what = f"FAILED {row['error'].get('code')}: {row['error'].get('message', '')}"[:120]
            lines.append(f"{row['image']:<24}  {'-':<32}  {what}")
            continue
        pk = ", ".join(f"{eco} {n}" for eco, n in sorted(row["packages"].items()))
        lines.append(f"{row['image']:<24}  {row['os']:<32}  {pk:<44}  {row.get('seconds', float('nan')):>7.2f}")
    d = outcome["done"]
    lines.append(f"{d.get('images')} images from {registry} through the broker: {d.get('scanned')} scanned, "
                 f"{d.get('failed')} failed in {outcome['seconds']:.1f} s; full reports in {reports}/")
    return "\n".join(lines)
