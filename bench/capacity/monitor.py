#!/usr/bin/env python3
"""Drives one capacity run against a running cr-agent: POSTs one /scan operation naming every image, polls
GET /operations/<id> until it is done, and samples every 100 ms the resident memory of the agent and of its
scan workers (/proc/<pid>/status VmRSS; workers are the agent's children). Prints one JSON object: wall
seconds, images scanned and failed (with the failures), peak RSS of agent + workers together, the agent's
own RSS at each finished image and its growth per image (least squares over images 5..N), and /metrics'
bytes pulled and layer-cache hits.

    monitor.py --port P --pid AGENT_PID --refs refs.json --credentials B64
"""
from __future__ import annotations

import argparse
import json
import os
import time
import urllib.request


def rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    out = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def call(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def metric(text: str, name: str) -> int:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[-1]))
    return 0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--refs", required=True)
    p.add_argument("--credentials", required=True)
    p.add_argument("--timeout", type=float, default=6 * 3600)
    a = p.parse_args()
    refs = json.load(open(a.refs))["refs"]
    start = time.monotonic()
    status, body = call(a.port, "POST", "/scan", json.dumps({"images": refs}).encode(),
                        {"authorization": a.credentials, "Content-Type": "application/json"})
    if status != 202:
        print(json.dumps({"error": f"POST /scan answered {status}: {body[:300].decode(errors='replace')}"}))
        return 1
    op_id = json.loads(body)["operationId"]
    peak, agent_rss_at, last_done, op = 0, [], 0, {}
    next_poll = 0.0
    while time.monotonic() - start < a.timeout:
        total = rss(a.pid) + sum(rss(c) for c in children(a.pid))
        peak = max(peak, total)
        if time.monotonic() >= next_poll:
            next_poll = time.monotonic() + 0.5
            _, body = call(a.port, "GET", f"/operations/{op_id}")
            op = json.loads(body)
            done = op["counts"]["scanned"] + op["counts"]["failed"]
            if done > last_done:
                agent_rss_at += [rss(a.pid)] * (done - last_done)
                last_done = done
            if op["state"] == "done":
                break
        time.sleep(0.1)
    wall = time.monotonic() - start
    _, m = call(a.port, "GET", "/metrics")
    m = m.decode()
    xs = list(range(5, len(agent_rss_at)))
    slope = 0.0
    if len(xs) >= 2:
        ys = [agent_rss_at[x] for x in xs]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        den = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0
    failed = [i for i in op.get("images", []) if i["state"] != "scanned"]
    print(json.dumps({"operation": op_id, "state": op.get("state"), "wall_s": round(wall, 3), "images": len(refs),
                      "scanned": op.get("counts", {}).get("scanned"), "failed": failed[:10], "failed_count": len(failed),
                      "peak_rss_bytes": peak, "agent_rss_first": agent_rss_at[:1], "agent_rss_last": agent_rss_at[-1:],
                      "agent_rss_growth_per_image_bytes": round(slope),
                      "bytes_pulled": metric(m, "cr_agent_scan_bytes_pulled_total"),
                      "layer_cache_hits": metric(m, "cr_agent_layer_cache_hits_total"),
                      "worker_restarts": metric(m, "cr_agent_scan_worker_restarts_total")}))
    return 0 if not failed and op.get("state") == "done" else 1


if __name__ == "__main__":
    raise SystemExit(main())
