#!/usr/bin/env python3
"""A stand-in for snyk's broker client (npm is unreachable here, so the real one cannot run), written
from snyk/broker's sources to show our server speaks to that client as it is written:

  - lib/hybrid-sdk/client/socket.ts: the socket URL /primus/<token>/?EIO=4&transport=websocket&
    connection_role=<role> and the headers x-snyk-broker-client-id, x-snyk-broker-client-role,
    x-broker-client-version;
  - lib/hybrid-sdk/client/socketHandlers/*: waits for the server's `identify`, answers with its own
    {token, metadata: {capabilities: ["post-streams"], clientId, identifier, version, filters, role}};
  - engine.io v4 (packets 0 open, 2 ping -> 3 pong, 4 message) and Primus 6 with the EJSON parser
    (`4"primus::ping::<ms>"` -> `4"primus::pong::<ms>"`), primus-emitter packets
    {"type":0,"data":[event, args...],"id"?:n} and acks {"id":n,"type":1,"data":[...]};
  - lib/hybrid-sdk/http/downstream-post-stream-to-server.ts: the answer to a `request` event as
    POST /response-data/<token>/<streamingID>, content type application/vnd.broker.stream+octet-stream,
    body = 4-byte little-endian length, {"status","headers"} JSON, raw body.

    fake_broker_client.py <server-url> <token> [--version V] [--role R] [--callback PATH] [--ca CA]

What the agent would answer is made up per path: /echo* answers the request back as JSON, /big/<n>
streams n bytes, /hold never answers. --callback emits one `request` up (an agent's callback) with an
ack. Every step is printed as one JSON line.
"""
import argparse
import asyncio
import base64
import hashlib
import json
import struct
import sys
import time
import uuid

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


def out(obj):
    print(json.dumps(obj), flush=True)


def message(value):
    """An engine.io message packet carrying Primus data (EJSON text)."""
    return "4" + json.dumps(value, separators=(",", ":"))


async def answer(http, server, token, payload):
    url = payload["url"]
    streaming_id = payload["streamingID"]
    body = b""
    if isinstance(payload.get("body"), dict) and "$binary" in payload["body"]:
        body = base64.b64decode(payload["body"]["$binary"])
    if url.startswith("/hold"):
        return
    if url.startswith("/big/"):
        size = int(url.split("/")[2].split("?")[0])
        head = {"status": 200, "headers": {"content-type": "application/octet-stream", "content-length": str(size)}}
    else:
        text = json.dumps({"url": url, "method": payload["method"], "headers": payload["headers"],
                           "body": body.decode("utf-8", "replace")}).encode()
        size = len(text)
        head = {"status": 200, "headers": {"content-type": "application/json", "x-agent": "fake"}}
    head_bytes = json.dumps(head).encode()

    async def stream():
        yield struct.pack("<I", len(head_bytes)) + head_bytes
        if url.startswith("/big/"):
            chunk = b"x" * 65536
            left = size
            while left > 0:
                n = min(left, len(chunk))
                yield chunk[:n]
                left -= n
        else:
            yield text

    r = await http.post(f"{server}/response-data/{token}/{streaming_id}", content=stream(),
                        headers={"content-type": "application/vnd.broker.stream+octet-stream",
                                 "snyk-request-id": payload.get("requestId", "")})
    out({"event": "answered", "url": url, "status": r.status_code, "bytes": size})


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("token")
    ap.add_argument("--version", default="4.200.0")
    ap.add_argument("--role", default="primary")
    ap.add_argument("--callback")
    ap.add_argument("--ca", help="CA file for an https:// server")
    a = ap.parse_args()
    tls = None
    if a.ca:
        import ssl
        tls = ssl.create_default_context(cafile=a.ca)
    client_id = str(uuid.uuid4())
    ws_url = a.server.replace("http", "ws", 1) + f"/primus/{a.token}/?EIO=4&transport=websocket&connection_role={a.role}"
    headers = {"x-snyk-broker-client-id": client_id, "x-snyk-broker-client-role": a.role,
               "x-broker-client-version": a.version, "snyk-request-id": str(uuid.uuid4())}
    tasks = set()
    async with httpx.AsyncClient(timeout=120, verify=tls if tls else True) as http:
        try:
            async with connect(ws_url, additional_headers=headers, max_size=64 << 20, ssl=tls) as ws:
                async for raw in ws:
                    if not isinstance(raw, str):
                        out({"event": "binary", "bytes": len(raw)})
                        continue
                    kind, data = raw[0], raw[1:]
                    if kind == "0":
                        out({"event": "open", "handshake": json.loads(data)})
                        await ws.send(message(f"primus::ping::{int(time.time() * 1000)}"))
                    elif kind == "2":
                        await ws.send("3" + data)
                        out({"event": "engine.io ping"})
                    elif kind == "1":
                        out({"event": "engine.io close"})
                    elif kind == "4":
                        value = json.loads(data)
                        if isinstance(value, str):
                            out({"event": "primus", "text": value})
                            continue
                        if value.get("type") == 1:
                            out({"event": "ack", "id": value.get("id"), "data": value.get("data")})
                            continue
                        name, args = value["data"][0], value["data"][1:]
                        if name == "identify":
                            out({"event": "server identify", "args": args})
                            metadata = {"capabilities": ["post-streams"], "clientId": client_id,
                                        "identifier": hashlib.sha256(a.token.encode()).hexdigest(),
                                        "version": a.version, "filters": {}, "role": a.role}
                            await ws.send(message({"type": 0, "data": ["identify", {"token": a.token, "metadata": metadata}]}))
                            out({"event": "identified"})
                            if a.callback:
                                body = json.dumps({"done": True}).encode()
                                req = {"url": a.callback, "method": "POST", "headers": {"content-type": "application/json"},
                                       "body": {"$binary": base64.b64encode(body).decode()}, "streamingID": ""}
                                await ws.send(message({"type": 0, "data": ["request", req], "id": 1}))
                        elif name == "request":
                            out({"event": "request", "payload": args[0]})
                            t = asyncio.create_task(answer(http, a.server, a.token, args[0]))
                            tasks.add(t)
                            t.add_done_callback(tasks.discard)
                        else:
                            out({"event": "event", "name": name, "args": args})
                out({"event": "closed", "code": ws.close_code, "reason": ws.close_reason})
        except ConnectionClosed as e:
            out({"event": "closed", "code": e.rcvd.code if e.rcvd else None, "reason": e.rcvd.reason if e.rcvd else ""})
        except Exception as e:  # noqa: BLE001 - reported, the test reads it
            out({"event": "error", "error": repr(e)})
    out({"event": "ended"})


asyncio.run(main())
