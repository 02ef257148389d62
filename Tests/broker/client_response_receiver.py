#!/usr/bin/env python3
"""The broker server's `/response-data` endpoint as the broker client's tests see it: an aiohttp server
that takes `POST /response-data/<token>/<streamingID>` (snyk/broker lib/hybrid-sdk/http/
server-post-stream-handler.ts is the real one) and records what arrived: the path and query, the request
headers, the frame's status/headers JSON (4-byte little-endian length, then that JSON), and the body's
length, SHA-256 and first 64 KiB. It is a stand-in for the receiving half of snyk's server only, not
for its sockets.

    client_response_receiver.py [--read-delay-ms N] [--max-lifetime S]

`--read-delay-ms` sleeps that long after each 64 KiB read: a slow server, so the client's backpressure
shows. Prints one JSON line `{"url": "http://127.0.0.1:PORT", "port": PORT}`; GET /_receiver/record
answers `{"uploads": [...]}`, each upload with "complete": false until its body ended (or "error").
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import signal
import struct
import sys

from aiohttp import web

KEEP = 64 * 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--read-delay-ms", type=float, default=0)
    ap.add_argument("--max-lifetime", type=float, default=600)
    args = ap.parse_args()
    uploads: list[dict] = []

    async def response_data(request: web.Request) -> web.Response:
        record: dict = {"path": request.path, "query": dict(request.query), "headers": dict(request.headers),
                        "complete": False, "bodyBytes": 0}
        uploads.append(record)
        digest = hashlib.sha256()
        head = b""
        preamble = None
        kept = bytearray()
        try:
            while True:
                chunk = await request.content.read(KEEP)
                if not chunk:
                    break
                if preamble is None:
                    head += chunk
                    if len(head) >= 4:
                        n = struct.unpack("<I", head[:4])[0]
                        if len(head) >= 4 + n:
                            preamble = head[4:4 + n].decode()
                            record["preamble"] = json.loads(preamble)
                            record["preambleText"] = preamble
                            chunk = head[4 + n:]
                        else:
                            continue
                    else:
                        continue
                digest.update(chunk)
                record["bodyBytes"] += len(chunk)
                if len(kept) < KEEP:
                    kept += chunk[: KEEP - len(kept)]
                if args.read_delay_ms:
                    await asyncio.sleep(args.read_delay_ms / 1000)
        except Exception as e:  # a cut upload is what some tests expect; record it
            record["error"] = f"{type(e).__name__}: {e}"
            raise
        record["sha256"] = digest.hexdigest()
        record["bodyStart"] = kept.decode("utf-8", "replace")
        record["complete"] = preamble is not None
        return web.json_response({"ok": True})

    async def record(_: web.Request) -> web.Response:
        return web.json_response({"uploads": uploads})

    async def start() -> None:
        app = web.Application(client_max_size=0)
        app.router.add_post("/response-data/{token}/{sid}", response_data)
        app.router.add_get("/_receiver/record", record)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        print(json.dumps({"url": f"http://127.0.0.1:{port}", "port": port}), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for s in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(s, stop.set)
        try:
            await asyncio.wait_for(stop.wait(), args.max_lifetime)
        except asyncio.TimeoutError:
            pass
        await runner.cleanup()

    asyncio.run(start())
    sys.exit(0)


if __name__ == "__main__":
    main()
