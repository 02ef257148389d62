#!/usr/bin/env python3
"""A stand-in for snyk's broker server, for the broker client's process tests. Not snyk's server: a
hand-written aiohttp peer that speaks what the client meets on the wire, written from snyk/broker's
sources (lib/hybrid-sdk/server/socket.ts, server/socketHandlers/*, http/server-post-stream-handler.ts)
and the packet formats of engine.io v4, Primus 6 and primus-emitter they rely on:

- `GET /primus/<token>/?EIO=4&transport=websocket` upgrades to a websocket; engine.io `0{...}` open,
  `2`/`3` ping/pong every `--ping-interval-ms`, `4<EJSON>` messages carrying Primus packets.
- Primus heartbeat: `"primus::ping::<ms>"` is answered with `"primus::pong::<ms>"`.
- primus-emitter: events `{"type":0,"data":[name, args...],"id"?:n}`, acks `{"type":1,"id":n,"data":[...]}`.
- On connection the server emits `identify` `{"capabilities":["receive-post-streams"]}`.
- `POST /response-data/<token>/<streamingID>`: the 4-byte LE length, status/headers JSON, body.

Control (tests only): `POST /_standin/request` with `{"url","method","headers","body"?,"role"?}` sends a
`request` event down the first socket of that role with a new streamingID and answers `{"streamingID"}`;
`GET /_standin/record` answers what was seen: `sockets` (handshake headers, query, identify payload,
open/closed), `callbacks` (request events the client sent up, acked with 200 `{"ok":true}`), `uploads`
(each /response-data: preamble, body length, sha256, first 64 KiB), `pings` (Primus heartbeats answered);
`POST /_standin/drop` closes every socket (a server restart, as the client sees it);
`POST /_standin/pause-reading` stops reading the sockets (a server that reads slowly: the client's
writes back up into the kernel's buffers and its own queue), `POST /_standin/resume-reading` reads again.
A callback body over 64 KiB is recorded by its length only (`bodyChars`).

    fake_broker_server.py [--ping-interval-ms N] [--max-lifetime S]

prints one JSON line `{"url": "http://127.0.0.1:PORT", "port": PORT}`.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import signal
import struct
import uuid

from aiohttp import WSMsgType, web

KEEP = 64 * 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ping-interval-ms", type=int, default=25000)
    ap.add_argument("--max-lifetime", type=float, default=600)
    args = ap.parse_args()
    sockets: list[dict] = []
    callbacks: list[dict] = []
    uploads: list[dict] = []
    pings: list[str] = []
    live: dict[int, web.WebSocketResponse] = {}
    reading = asyncio.Event()
    reading.set()
    transports: dict[int, asyncio.Transport] = {}

    async def send_primus(ws: web.WebSocketResponse, packet) -> None:
        await ws.send_str("4" + json.dumps(packet, separators=(",", ":")))

    async def primus(request: web.Request) -> web.StreamResponse:
        if request.query.get("EIO") != "4" or request.query.get("transport") != "websocket":
            return web.json_response({"code": 0, "message": "Transport unknown"}, status=400)
        ws = web.WebSocketResponse(autoping=True, max_msg_size=64 * 1024 * 1024)
        await ws.prepare(request)
        index = len(sockets)
        record = {"token": request.match_info["token"], "query": dict(request.query),
                  "headers": {k.lower(): v for k, v in request.headers.items()}, "identify": None, "open": True}
        sockets.append(record)
        live[index] = ws
        transports[index] = request.transport
        sid = uuid.uuid4().hex
        await ws.send_str("0" + json.dumps({"sid": sid, "upgrades": [], "pingInterval": args.ping_interval_ms,
                                            "pingTimeout": 20000, "maxPayload": 1000000}))
        await send_primus(ws, {"type": 0, "data": ["identify", {"capabilities": ["receive-post-streams"]}]})

        async def pinger() -> None:
            while not ws.closed:
                await asyncio.sleep(args.ping_interval_ms / 1000)
                if not ws.closed:
                    await ws.send_str("2")
        ping_task = asyncio.create_task(pinger())
        try:
            async for msg in ws:
                # While paused no further message is taken: aiohttp's reader then stops reading the socket.
                await reading.wait()
                if msg.type != WSMsgType.TEXT:
                    continue
                text = msg.data
                if text == "3" or not text:
                    continue
                if text == "2":
                    await ws.send_str("3")
                    continue
                if text[0] != "4":
                    continue
                packet = json.loads(text[1:])
                if isinstance(packet, str) and packet.startswith("primus::ping::"):
                    pings.append(packet)
                    await send_primus(ws, "primus::pong::" + packet[len("primus::ping::"):])
                    continue
                if not isinstance(packet, dict) or packet.get("type") != 0:
                    continue
                name, *event_args = packet.get("data", [None])
                if name == "identify":
                    record["identify"] = event_args[0] if event_args else None
                elif name == "request":
                    payload = event_args[0] if event_args else None
                    if isinstance(payload, dict) and isinstance(payload.get("body"), dict):
                        b64 = payload["body"].get("$binary")
                        if isinstance(b64, str) and len(b64) > KEEP:
                            payload = dict(payload, body={"bodyChars": len(b64)})
                    callbacks.append({"socket": index, "payload": payload})
                    if "id" in packet:
                        await send_primus(ws, {"type": 1, "id": packet["id"], "data": [
                            {"status": 200, "headers": {"content-type": "application/json"}, "body": "{\"ok\":true}"}]})
        finally:
            ping_task.cancel()
            record["open"] = False
            live.pop(index, None)
            transports.pop(index, None)
        return ws

    async def response_data(request: web.Request) -> web.Response:
        record: dict = {"path": request.path, "query": dict(request.query),
                        "headers": {k.lower(): v for k, v in request.headers.items()}, "complete": False, "bodyBytes": 0}
        uploads.append(record)
        digest = hashlib.sha256()
        head = b""
        preamble = None
        kept = bytearray()
        while True:
            chunk = await request.content.read(KEEP)
            if not chunk:
                break
            if preamble is None:
                head += chunk
                if len(head) < 4 or len(head) < 4 + struct.unpack("<I", head[:4])[0]:
                    continue
                n = struct.unpack("<I", head[:4])[0]
                preamble = head[4:4 + n].decode()
                record["preamble"] = json.loads(preamble)
                chunk = head[4 + n:]
            digest.update(chunk)
            record["bodyBytes"] += len(chunk)
            if len(kept) < KEEP:
                kept += chunk[: KEEP - len(kept)]
        record["sha256"] = digest.hexdigest()
        record["bodyStart"] = kept.decode("utf-8", "replace")
        record["complete"] = preamble is not None
        return web.json_response({"ok": True})

    async def control_request(request: web.Request) -> web.Response:
        spec = await request.json()
        role = spec.get("role", "primary")
        target = next((i for i, s in enumerate(sockets) if s["open"] and s["query"].get("connection_role") == role and i in live), None)
        if target is None:
            return web.json_response({"error": f"no open {role} socket"}, status=404)
        streaming_id = str(uuid.uuid4())
        payload = {"url": spec["url"], "method": spec.get("method", "GET"), "headers": spec.get("headers", {}),
                   "streamingID": streaming_id, "requestId": spec.get("requestId", str(uuid.uuid4()))}
        if "body" in spec:
            payload["body"] = spec["body"]
        await send_primus(live[target], {"type": 0, "data": ["request", payload]})
        return web.json_response({"streamingID": streaming_id})

    async def control_record(_: web.Request) -> web.Response:
        return web.json_response({"sockets": sockets, "callbacks": callbacks, "uploads": uploads, "pings": pings})

    async def control_drop(_: web.Request) -> web.Response:
        for ws in list(live.values()):
            await ws.close()
        return web.json_response({"dropped": True})

    async def control_pause_reading(_: web.Request) -> web.Response:
        # The socket itself stops being read (aiohttp's reader would otherwise keep taking whole
        # messages into memory), so the client's writes back up as they would to a slow server.
        reading.clear()
        for t in transports.values():
            t.pause_reading()
        return web.json_response({"reading": False})

    async def control_resume_reading(_: web.Request) -> web.Response:
        for t in transports.values():
            t.resume_reading()
        reading.set()
        return web.json_response({"reading": True})

    async def start() -> None:
        app = web.Application(client_max_size=0)
        app.router.add_get("/primus/{token}/", primus)
        app.router.add_post("/response-data/{token}/{sid}", response_data)
        app.router.add_post("/_standin/request", control_request)
        app.router.add_get("/_standin/record", control_record)
        app.router.add_post("/_standin/drop", control_drop)
        app.router.add_post("/_standin/pause-reading", control_pause_reading)
        app.router.add_post("/_standin/resume-reading", control_resume_reading)
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


if __name__ == "__main__":
    main()
