#!/usr/bin/env python3
"""Frames made and read by the `websockets` library (a real RFC 6455 implementation), as an oracle for
our codec (Tests/CoreTests/WebSocketTests.swift).

    frame_oracle.py make    # prints JSON lines: {"wire": hex, "masked", "fin", "opcode", "payload": hex}
    frame_oracle.py read    # reads lines "<masked 0|1> <hex>" on stdin, prints for each {"fin", "opcode",
                            # "length", "sha256" of the payload}, or {"error": "..."} for bytes it refuses
"""
import hashlib
import json
import random
import sys

from websockets.exceptions import ProtocolError, PayloadTooBig
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader


def describe(frame: Frame, masked: bool, wire: bytes) -> dict:
    return {"wire": wire.hex(), "masked": masked, "fin": frame.fin, "opcode": int(frame.opcode),
            "payload": bytes(frame.data).hex()}


def make() -> None:
    rng = random.Random(6455)
    sizes = [0, 1, 5, 125, 126, 127, 200, 65535, 65536, 70000]
    for masked in (False, True):
        for size in sizes:
            for opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                data = bytes(rng.randrange(32, 127) for _ in range(size))
                for fin in (True, False):
                    frame = Frame(opcode, data, fin=fin)
                    print(json.dumps(describe(frame, masked, frame.serialize(mask=masked))))
        for opcode, data in ((Opcode.PING, b"Hello"), (Opcode.PONG, b""), (Opcode.CLOSE, b"\x03\xe8bye"),
                             (Opcode.CLOSE, b""), (Opcode.PING, bytes(range(125)))):
            frame = Frame(opcode, data)
            print(json.dumps(describe(frame, masked, frame.serialize(mask=masked))))


def read() -> None:
    for line in sys.stdin:
        masked_flag, hexed = line.split()
        wire = bytes.fromhex(hexed)
        reader = StreamReader()
        reader.feed_data(wire)
        reader.feed_eof()
        parser = Frame.parse(reader.read_exact, mask=masked_flag == "1", max_size=1 << 24)
        try:
            while True:
                next(parser)
        except StopIteration as done:
            f = done.value
            print(json.dumps({"fin": f.fin, "opcode": int(f.opcode), "length": len(f.data),
                              "sha256": hashlib.sha256(f.data).hexdigest()}), flush=True)
        except (ProtocolError, PayloadTooBig, EOFError) as e:
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}))


if __name__ == "__main__":
    {"make": make, "read": read}[sys.argv[1]]()
