#!/usr/bin/env python3
"""python-engineio's client against our broker server's socket path (engine.io v4 interop, websocket
transport only, as snyk's client uses it): the open handshake, messages both ways (a Primus heartbeat
up, its pong and the server's emitter `identify` down), then a clean disconnect.

    server_engineio_client.py <server-url> <token>

Prints one JSON line per event.
"""
import json
import sys
import threading

import engineio

server, token = sys.argv[1], sys.argv[2]
got = []
done = threading.Event()
client = engineio.Client()


def out(obj):
    print(json.dumps(obj), flush=True)


@client.on("connect")
def on_connect():
    out({"event": "connect", "sid": client.sid, "transport": client.transport()})
    client.send(json.dumps("primus::ping::1234"))


@client.on("message")
def on_message(data):
    # python-engineio hands over a text packet that parses as JSON already parsed.
    value = data
    if isinstance(data, (str, bytes)):
        try:
            value = json.loads(data)
        except ValueError:
            value = data
    out({"event": "message", "value": value})
    got.append(value)
    if "primus::pong::1234" in got and any(isinstance(v, dict) and v.get("data", [None])[0] == "identify" for v in got):
        done.set()


@client.on("disconnect")
def on_disconnect(*_):
    out({"event": "disconnect"})


client.connect(f"{server}/?EIO=4&connection_role=primary", transports=["websocket"], engineio_path=f"primus/{token}")
ok = done.wait(15)
out({"event": "result", "ok": ok})
client.disconnect()
