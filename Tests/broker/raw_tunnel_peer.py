#!/usr/bin/env python3
"""A stub broker-client peer over a raw TCP socket, for misbehaviour a real client does not produce on
demand: it speaks just enough WebSocket (RFC 6455, masked frames) and engine.io to reach the server's
tunnel socket, then misbehaves. It never answers a WebSocket close frame or ping, so what ends the TCP
connection is the server's doing.

    raw_tunnel_peer.py <port> <token> close-packet      send engine.io `1`, keep TCP open, wait for EOF
    raw_tunnel_peer.py <port> <token> silent            answer engine.io pings, never identify, wait for EOF
    raw_tunnel_peer.py <port> <token> values <bytes>    send one `4[1,1,...]` message of <bytes>, wait for EOF
    raw_tunnel_peer.py <port> <token> hold <count>      open <count> sockets, print each upgrade's status,
                                                        keep the open ones until killed (120 s at most)
    raw_tunnel_peer.py <port> <token> no-read           identify (post-streams), then never read again;
                                                        keep the socket until killed (120 s at most)
    raw_tunnel_peer.py <port> <token> chunk-answer <n>  identify, answer the first `request` with a head
                                                        `chunk` and a final one of <n> bytes, then send a
                                                        Primus ping and print the pong when it comes
    raw_tunnel_peer.py <port> <token> callback <value>  identify, then send up a callback POST
                                                        /api/v2/import/done asking the server to substitute
                                                        <value> (header x-a via x-broker-var-sub, body field
                                                        "v" via BROKER_VAR_SUB); print the ack

Each outcome is printed as one JSON line. Waits are bounded (60 s).
"""
import base64
import json
import os
import signal
import socket
import struct
import sys
import time


def out(obj):
    print(json.dumps(obj), flush=True)


def upgrade(port, token, small_receive_buffer=False):
    """Opens a socket and sends the upgrade; returns (socket, status, leftover bytes)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if small_receive_buffer:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(60)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /primus/{token}/?EIO=4&transport=websocket&connection_role=primary HTTP/1.1\r\n"
               f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"x-snyk-broker-client-role: primary\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        got = s.recv(65536)
        if not got:
            return s, 0, b""
        data += got
    head, rest = data.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ")[1])
    if status != 101:
        # The refusal's body (Content-Length) follows; it is not needed.
        return s, status, b""
    return s, status, rest


def frame(opcode, payload):
    """One masked frame from the client."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 65536 else mask_large(payload, mask)
    return header + mask + masked


def mask_large(payload, mask):
    n = len(payload)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


class Reader:
    """Frames from the server (unmasked), from a socket and what came with the 101."""

    def __init__(self, s, leftover):
        self.s = s
        self.buf = bytearray(leftover)

    def need(self, n):
        while len(self.buf) < n:
            got = self.s.recv(65536)
            if not got:
                raise EOFError
            self.buf += got

    def next(self):
        self.need(2)
        b0, b1 = self.buf[0], self.buf[1]
        n, off = b1 & 0x7F, 2
        if n == 126:
            self.need(4)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self.need(10)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self.need(off + n)
        payload = bytes(self.buf[off:off + n])
        del self.buf[:off + n]
        return b0 & 0x0F, payload


def read_until_eof(reader, answer_pings=False):
    """Reads frames until the server ends the TCP connection; prints what it saw and how it ended."""
    start = time.monotonic()
    close = None
    texts = []
    try:
        while True:
            opcode, payload = reader.next()
            if opcode == 1:
                text = payload.decode("utf-8", "replace")
                texts.append(text[:200])
                if answer_pings and text == "2":
                    reader.s.sendall(frame(1, b"3"))
            elif opcode == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                close = {"code": code, "reason": payload[2:].decode("utf-8", "replace")}
    except EOFError:
        out({"event": "eof", "close": close, "texts": texts, "seconds": round(time.monotonic() - start, 1)})
    except (socket.timeout, TimeoutError):
        out({"event": "timeout", "close": close, "texts": texts})
    except ConnectionResetError:
        out({"event": "reset", "close": close, "texts": texts})


def hold_until_stopped(seconds=120):
    """Keeps what is open until the test stops this peer (SIGTERM) or `seconds` pass, whichever first."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    signal.sigtimedwait({signal.SIGTERM}, seconds)


def identify(token):
    metadata = {"capabilities": ["post-streams"], "clientId": "raw-peer", "version": "4.200.0", "role": "primary"}
    return "4" + json.dumps({"type": 0, "data": ["identify", {"token": token, "metadata": metadata}]})


def main():
    port, token, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if mode == "hold":
        kept = []
        for i in range(int(sys.argv[4])):
            s, status, _ = upgrade(port, token)
            out({"event": "upgrade", "index": i, "status": status})
            if status == 101:
                kept.append(s)
            else:
                s.close()
        out({"event": "holding", "open": len(kept)})
        hold_until_stopped()
        return
    s, status, leftover = upgrade(port, token, small_receive_buffer=(mode == "no-read"))
    out({"event": "upgrade", "status": status})
    if status != 101:
        return
    reader = Reader(s, leftover)
    opcode, payload = reader.next()
    out({"event": "open", "text": payload.decode()})
    if mode == "close-packet":
        s.sendall(frame(1, b"1"))
        read_until_eof(reader)
    elif mode == "silent":
        read_until_eof(reader, answer_pings=True)
    elif mode == "values":
        size = int(sys.argv[4])
        count = (size - 3) // 2
        message = b"4[" + b",".join([b"1"] * count) + b"]"
        s.sendall(frame(1, message))
        out({"event": "sent", "bytes": len(message)})
        read_until_eof(reader)
    elif mode == "chunk-answer":
        size = int(sys.argv[4])
        s.sendall(frame(1, identify(token).encode()))
        while True:
            opcode, data = reader.next()
            text = data.decode("utf-8", "replace")
            if opcode == 1 and text.startswith('4{"type":0,"data":["request"'):
                sid = json.loads(text[1:])["data"][1]["streamingID"]
                break
        head = ["chunk", sid, "", False, {"status": 200, "headers": {"content-type": "text/plain"}}]
        s.sendall(frame(1, ("4" + json.dumps({"type": 0, "data": head})).encode()))
        s.sendall(frame(1, ("4" + json.dumps({"type": 0, "data": ["chunk", sid, "x" * size, True]})).encode()))
        out({"event": "answered"})
        s.sendall(frame(1, b'4"primus::ping::1"'))
        while True:
            opcode, data = reader.next()
            if opcode == 1 and data == b'4"primus::pong::1"':
                out({"event": "pong"})
                return
    elif mode == "callback":
        value = sys.argv[4]
        s.sendall(frame(1, identify(token).encode()))
        body = json.dumps({"BROKER_VAR_SUB": ["v"], "v": value})
        payload = {"url": "/api/v2/import/done", "method": "POST", "streamingID": "", "body": body,
                   "headers": {"x-broker-var-sub": "x-a", "x-a": value, "content-type": "application/json"}}
        s.sendall(frame(1, ("4" + json.dumps({"type": 0, "data": ["request", payload], "id": 1})).encode()))
        while True:
            opcode, data = reader.next()
            text = data.decode("utf-8", "replace")
            if opcode == 1 and text.startswith("4") and '"type":1' in text:
                out({"event": "ack", "packet": json.loads(text[1:])})
                return
    elif mode == "no-read":
        s.sendall(frame(1, identify(token).encode()))
        # The receive buffer stays as small as the kernel allows, so the server's queue is what fills.
        out({"event": "identified"})
        hold_until_stopped()


main()
