#!/usr/bin/env python3
"""Idle keep-alive connection memory: how much resident memory a server spends per idle connection.

    idle_conns.py --port PORT --pid PID [--count 10000] [--path /healthcheck]

Sends one warm-up request, reads VmRSS of PID, then opens COUNT connections to 127.0.0.1:PORT, sends one
GET on each and reads its whole reply, keeping every connection open; reads VmRSS again, prints one
line of results (key=value), closes everything (with RST, so no TIME_WAIT piles up) and exits.
Everything is bounded by --deadline seconds.
"""
import argparse
import socket
import struct
import sys
import time


def vm_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


def request(sock, path, deadline):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: idle_conns\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the end of the body")
        body += chunk
    return status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--path", default="/healthcheck")
    ap.add_argument("--settle", type=float, default=0.5, help="seconds to wait before each RSS reading")
    ap.add_argument("--deadline", type=float, default=120.0)
    args = ap.parse_args()
    deadline = time.monotonic() + args.deadline

    with socket.create_connection(("127.0.0.1", args.port), timeout=5) as warm:
        if request(warm, args.path, deadline) != 200:
            sys.exit("warm-up request failed")
    time.sleep(args.settle)
    before = vm_kib(args.pid, "VmRSS")

    conns, failures, start = [], 0, time.monotonic()
    linger = struct.pack("ii", 1, 0)
    try:
        for _ in range(args.count):
            if time.monotonic() > deadline:
                sys.exit(f"deadline passed after {len(conns)} connections")
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            try:
                s.settimeout(5)
                s.connect(("127.0.0.1", args.port))
                if request(s, args.path, deadline) != 200:
                    failures += 1
                conns.append(s)
            except OSError as e:
                failures += 1
                s.close()
                if failures > 100:
                    sys.exit(f"too many failures ({e}) after {len(conns)} connections")
        opened = time.monotonic() - start
        time.sleep(args.settle)
        # Every connection must still be open (no idle timeout kicked in): a non-blocking peek sees no EOF.
        alive = 0
        for s in conns:
            s.setblocking(False)
            try:
                alive += 1 if s.recv(1, socket.MSG_PEEK) else 0
            except BlockingIOError:
                alive += 1
        after = vm_kib(args.pid, "VmRSS")
        hwm = vm_kib(args.pid, "VmHWM")
        per = (after - before) / max(1, alive)
        print(f"connections={len(conns)} alive={alive} failures={failures} open_seconds={opened:.1f} "
              f"rss_before_kib={before} rss_after_kib={after} hwm_kib={hwm} kib_per_conn={per:.2f}", flush=True)
    finally:
        for s in conns:
            s.close()


if __name__ == "__main__":
    main()
