#!/usr/bin/env python3
"""A real engine.io v4 server (python-engineio on aiohttp) for the tunnel's interop tests.

Our broker client's socket connects to ws://.../engine.io/?EIO=4&transport=websocket. On connect the
server sends one primus-emitter event as message text (`{"type":0,"data":["hello",...]}`); every message
it receives is recorded, and an emitter event that asks for an ack (has an id) is acked with its own
arguments. Pongs the clients send are counted by wrapping python-engineio's own packet handler (the
server's heartbeat is python-engineio's, untouched). GET /_record answers what happened as JSON.

Prints one JSON line {"url": "http://127.0.0.1:<port>"} when it listens; exits after --max-lifetime s.
"""
import argparse
import asyncio
import json
import sys

import engineio
from aiohttp import web
from engineio import async_socket, packet

parser = argparse.ArgumentParser()
parser.add_argument("--ping-interval", type=float, default=0.2)
parser.add_argument("--ping-timeout", type=float, default=5.0)
parser.add_argument("--max-lifetime", type=float, default=120)
args = parser.parse_args()

record = {"connects": 0, "disconnects": 0, "pongs": 0, "messages": [], "acks_sent": 0}

original_receive = async_socket.AsyncSocket.receive


async def counting_receive(self, pkt):
    if pkt.packet_type == packet.PONG:
        record["pongs"] += 1
    return await original_receive(self, pkt)


async_socket.AsyncSocket.receive = counting_receive

eio = engineio.AsyncServer(async_mode="aiohttp", ping_interval=args.ping_interval,
                           ping_timeout=args.ping_timeout)



def as_packet(data):
    """python-engineio hands over message text that parses as JSON already parsed (packet.py `decode`);
    dicts it sends go out as compact JSON. A primus-emitter packet is a dict either way."""
    if isinstance(data, (dict, list)):
        return data
    try:
        return json.loads(data)
    except (TypeError, ValueError):
        return None

@eio.on("connect")
async def on_connect(sid, environ):
    record["connects"] += 1
    await eio.send(sid, {"type": 0, "data": ["hello", {"from": "python-engineio"}]})


@eio.on("message")
async def on_message(sid, data):
    record["messages"].append({"binary": len(data)} if isinstance(data, bytes) else data)
    p = as_packet(data)
    if isinstance(p, dict) and p.get("type") == 0 and isinstance(p.get("data"), list) and p.get("id"):
        await eio.send(sid, {"id": p["id"], "type": 1, "data": p["data"][1:]})
        record["acks_sent"] += 1
    if isinstance(p, dict) and p.get("data", [None])[0] == "close-me":
        await eio.disconnect(sid)


@eio.on("disconnect")
async def on_disconnect(sid, *reason):
    record["disconnects"] += 1


async def record_handler(request):
    return web.json_response(record)


async def main():
    app = web.Application()
    eio.attach(app)
    app.router.add_get("/_record", record_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}"}), flush=True)
    await asyncio.sleep(args.max_lifetime)
    await runner.cleanup()


asyncio.run(main())
