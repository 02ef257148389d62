#!/usr/bin/env python3
"""A strict RFC 6455 peer built on the `websockets` library, for the interop tests of our WebSocket
connection (Tests/CoreTests/WebSocketConnectionInteropTests.swift).

    peer.py server [--cert C --key K]
        Serves on 127.0.0.1 (a free port, printed as {"port": N} on the first line of stdout). What it
        does depends on the path; every close it sees is printed as {"path", "closed", "code", "reason"}.
          /echo             echoes every message
          /server-frags     sends a text message in three fragments and a binary one in two, then echoes
          /ping             pings with b"are you there", then sends "pong-ok" once the pong came
          /headers          sends the upgrade request's headers as one JSON text message
          /close/<code>     closes with <code> and reason "bye <code>"
          /raw/<case>       writes hand-made bytes a server must not send: masked, bad-utf8, big, rsv
          /stall            never reads (the test's backpressure case lives in Swift; here for manual runs)

    peer.py client <url> [--ca CA]
        Runs the scenarios below against our server, one connection each, and prints one JSON line per
        scenario: {"case", "ok", ...what was seen}.
"""
import asyncio
import hashlib
import json
import os
import ssl
import struct
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

BIG = 64 << 20


def out(obj):
    print(json.dumps(obj), flush=True)


def raw_frame(opcode, payload, fin=True, mask=None, rsv=0):
    """A frame's wire bytes made by hand (to send what the library refuses to)."""
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    n = len(payload)
    mbit = 0x80 if mask is not None else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if mask is not None:
        payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        head += mask
    return head + payload


# ---------------------------------------------------------------- server

async def handler(ws):
    path = ws.request.path.split("?")[0]
    try:
        if path == "/echo":
            async for m in ws:
                await ws.send(m)
        elif path == "/server-frags":
            await ws.send(["frag", "ment", "ed"])
            await ws.send([b"\x00\x01", b"\x02\x03"])
            async for m in ws:
                await ws.send(m)
        elif path == "/ping":
            waiter = await ws.ping(b"are you there")
            await asyncio.wait_for(waiter, 10)
            await ws.send("pong-ok")
            async for m in ws:
                await ws.send(m)
        elif path.startswith("/close/"):
            code = int(path.rsplit("/", 1)[1])
            await ws.close(code, f"bye {code}")
        elif path.startswith("/raw/"):
            case = path.rsplit("/", 1)[1]
            data = {
                "masked": raw_frame(1, b"hello", mask=b"\x01\x02\x03\x04"),
                "bad-utf8": raw_frame(1, b"\xff\xfe"),
                "big": raw_frame(2, b"x" * 4096),
                "rsv": raw_frame(1, b"hi", rsv=0x40),
            }[case]
            ws.transport.write(data)
            async for _ in ws:
                pass
        elif path == "/headers":
            await ws.send(json.dumps({k.lower(): v for k, v in ws.request.headers.raw_items()}))
            async for _ in ws:
                pass
        elif path == "/stall":
            await asyncio.sleep(3600)
    except ConnectionClosed:
        pass
    finally:
        rcvd = ws.close_code
        out({"path": path, "closed": True, "code": rcvd, "reason": ws.close_reason})


async def run_server(cert, key):
    ctx = None
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    async with serve(handler, "127.0.0.1", 0, ssl=ctx, max_size=BIG, ping_interval=None, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        out({"port": port})
        await asyncio.get_running_loop().create_future()


# ---------------------------------------------------------------- client

async def scenario(url, ctx, name, body):
    try:
        async with connect(url + name_path(name), ssl=ctx, max_size=BIG, ping_interval=None, compression=None,
                           open_timeout=10, close_timeout=10) as ws:
            result = await asyncio.wait_for(body(ws), 60)
    except Exception as e:  # a scenario's failure is a result line, not the end of the run
        result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    result["case"] = name
    out(result)


def name_path(name):
    return "/small" if name.startswith("too-big") else "/echo"


async def closed_by_server(ws):
    try:
        while True:
            await ws.recv()
    except ConnectionClosed:
        pass
    return {"code": ws.close_code, "reason": ws.close_reason}


async def run_client(url, ca):
    ctx = None
    if url.startswith("wss"):
        ctx = ssl.create_default_context(cafile=ca)

    async def text(ws):
        await ws.send("héllo wörld")
        return {"ok": await ws.recv() == "héllo wörld"}

    async def binary(ws):
        data = os.urandom(1000)
        await ws.send(data)
        return {"ok": await ws.recv() == data}

    async def fragmented(ws):
        await ws.send(["frag", "ment", "ed"])
        await ws.send([b"\x00" * 70000, b"\x01" * 10])
        t = await ws.recv()
        b = await ws.recv()
        return {"ok": t == "fragmented" and b == b"\x00" * 70000 + b"\x01" * 10}

    async def big(ws):
        data = os.urandom(16 << 20)
        await ws.send(data)
        back = await ws.recv()
        return {"ok": hashlib.sha256(back).digest() == hashlib.sha256(data).digest(), "length": len(back)}

    async def ping(ws):
        waiter = await ws.ping(b"abc")
        latency = await asyncio.wait_for(waiter, 10)
        return {"ok": latency is not None}

    async def server_close(ws):
        await ws.send("close:4001")
        return {"ok": True, **(await closed_by_server(ws))}

    async def client_close(ws):
        await ws.send("hello")
        await ws.recv()
        await ws.close(4321, "done here")
        return {"ok": True, "code": ws.close_code}

    def raw(data):
        async def body(ws):
            ws.transport.write(data)
            return {"ok": True, **(await closed_by_server(ws))}
        return body

    key = b"\x11\x22\x33\x44"

    async def control_inside_fragments(ws):
        ws.transport.write(raw_frame(1, b"ab", fin=False, mask=key) + raw_frame(9, b"p", mask=key)
                           + raw_frame(0, b"cd", mask=key))
        return {"ok": await ws.recv() == "abcd"}

    async def too_big(ws):
        await ws.send(b"x" * 2000)
        return {"ok": True, **(await closed_by_server(ws))}

    cases = [
        ("text", text), ("binary", binary), ("fragmented", fragmented), ("big", big), ("ping", ping),
        ("server-close", server_close), ("client-close", client_close),
        ("control-inside-fragments", control_inside_fragments),
        ("unmasked", raw(raw_frame(1, b"hello"))),
        ("bad-utf8", raw(raw_frame(1, b"\xff\xfe", mask=key))),
        ("bad-utf8-fragmented", raw(raw_frame(1, b"\xce", fin=False, mask=key) + raw_frame(0, b"\x41", mask=key))),
        ("rsv-bits", raw(raw_frame(1, b"hi", mask=key, rsv=0x20))),
        ("unknown-opcode", raw(raw_frame(3, b"hi", mask=key))),
        ("long-ping", raw(raw_frame(9, b"p" * 126, mask=key))),
        ("fragmented-ping", raw(raw_frame(9, b"p", fin=False, mask=key))),
        ("orphan-continuation", raw(raw_frame(0, b"x", mask=key))),
        ("bad-close-code", raw(raw_frame(8, struct.pack("!H", 1005), mask=key))),
        ("too-big", too_big),
        ("too-big-fragmented", raw(raw_frame(2, b"x" * 600, fin=False, mask=key) + raw_frame(0, b"y" * 600, mask=key))),
    ]
    for name, body in cases:
        await scenario(url, ctx, name, body)


def main():
    args = sys.argv[1:]
    if args[0] == "server":
        cert = args[args.index("--cert") + 1] if "--cert" in args else None
        key = args[args.index("--key") + 1] if "--key" in args else None
        asyncio.run(run_server(cert, key))
    else:
        ca = args[args.index("--ca") + 1] if "--ca" in args else None
        asyncio.run(run_client(args[1], ca))


if __name__ == "__main__":
    main()
