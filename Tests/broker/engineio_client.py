#!/usr/bin/env python3
"""A real engine.io v4 client (python-engineio, websocket transport only) against our broker server socket.

Connects to <url> with the given engine.io path, sends the emitter events given as --send (JSON texts;
one with an id asks for an ack), answers the server's pings (python-engineio does that itself; they are
counted by wrapping its packet handler), acks every event from the server that asks for one, and once
it has seen --pings pings and --messages messages from the server, disconnects and prints one JSON line:
{"connected", "pings", "messages": [...], "disconnected_by"}. Exits 1 if that does not happen in --timeout s.
"""
import argparse
import json
import sys
import threading
import time

import engineio
from engineio import packet

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("--path", default="engine.io")
parser.add_argument("--send", action="append", default=[])
parser.add_argument("--pings", type=int, default=3)
parser.add_argument("--messages", type=int, default=1)
parser.add_argument("--timeout", type=float, default=30)
args = parser.parse_args()

record = {"connected": False, "pings": 0, "messages": [], "disconnected_by": None}
done = threading.Event()

original = engineio.Client._receive_packet


def counting(self, pkt):
    if pkt.packet_type == packet.PING:
        record["pings"] += 1
        check()
    return original(self, pkt)


engineio.Client._receive_packet = counting
client = engineio.Client()


def check():
    if record["pings"] >= args.pings and len(record["messages"]) >= args.messages:
        done.set()



def as_packet(data):
    """python-engineio hands over message text that parses as JSON already parsed (packet.py `decode`);
    dicts it sends go out as compact JSON. A primus-emitter packet is a dict either way."""
    if isinstance(data, (dict, list)):
        return data
    try:
        return json.loads(data)
    except (TypeError, ValueError):
        return None

@client.on("connect")
def on_connect():
    record["connected"] = True


@client.on("message")
def on_message(data):
    record["messages"].append({"binary": len(data)} if isinstance(data, bytes) else data)
    p = as_packet(data)
    if isinstance(p, dict) and p.get("type") == 0 and isinstance(p.get("data"), list) and p.get("id"):
        client.send({"id": p["id"], "type": 1, "data": p["data"][1:]})
    check()


@client.on("disconnect")
def on_disconnect(*reason):
    if record["disconnected_by"] is None:
        record["disconnected_by"] = "server"
    done.set()


client.connect(args.url, transports=["websocket"], engineio_path=args.path)
for text in args.send:
    client.send(text)
finished = done.wait(args.timeout)
if record["disconnected_by"] is None:
    record["disconnected_by"] = "client"
    client.disconnect()
print(json.dumps(record), flush=True)
sys.exit(0 if finished else 1)
