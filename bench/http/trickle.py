"""Sends request heads one byte per write (TCP_NODELAY), reading each answer, and prints the server's
CPU time per head from /proc/<pid>/stat (utime + stime), so the cost of a trickled head can be
compared between servers and between head sizes.

usage: trickle.py <port> <server pid> <header value bytes> <heads>; prints "ms_per_head=<float>"."""
import os
import socket
import sys

port, pid, size, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
head = f"GET /healthcheck HTTP/1.1\r\nHost: a\r\nX-Long: {'v' * size}\r\n\r\n".encode()


def cpu_ticks():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.settimeout(30)
before = cpu_ticks()
for _ in range(count):
    for i in range(len(head)):
        s.send(head[i:i + 1])
    answer = b""
    while b"\r\n\r\n" not in answer:
        more = s.recv(65536)
        if not more:
            sys.exit("server closed the connection")
        answer += more
    if not answer.startswith(b"HTTP/1.1 200"):
        sys.exit("server answered " + repr(answer.split(b"\r\n")[0]))
    # The body is small and arrives with the head in practice; drain what is left of it.
    s.settimeout(0.05)
    try:
        s.recv(65536)
    except (socket.timeout, BlockingIOError):
        pass
    s.settimeout(30)
after = cpu_ticks()
print(f"ms_per_head={(after - before) * 1000 / os.sysconf('SC_CLK_TCK') / count:.3f}")
