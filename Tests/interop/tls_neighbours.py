"""A TLS keep-alive client whose neighbours misbehave: between its requests, other sockets on the same
server connect and close, send a garbage ClientHello, or abandon a half handshake. Each hostile socket
waits for the server to close it, so the server has handled it before the live client asks again.

usage: tls_neighbours.py <port> <ca.pem>; prints one line per step and "all checks passed"."""
import socket
import ssl
import sys

port, ca = int(sys.argv[1]), sys.argv[2]


def request(tls, path):
    tls.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        more = tls.recv(65536)
        if not more:
            raise SystemExit(f"FAIL: connection closed before the answer to {path}")
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    while len(body) < length:
        body += tls.recv(65536)
    return head.split(b"\r\n")[0].decode(), body.decode()


def wait_closed(sock):
    """Reads until the server closes the socket (its handling of this neighbour is then over)."""
    sock.settimeout(10)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    sock.close()


def connect_and_close():
    s = socket.create_connection(("127.0.0.1", port))
    s.shutdown(socket.SHUT_WR)
    wait_closed(s)


def garbage_client_hello():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"\x16\x03\x01\x00\x2f" + b"\x01\x00\x00\x2b" + bytes(range(0x2b)))
    wait_closed(s)


def half_handshake():
    """The first bytes of a real ClientHello, then end of input."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(hello[: len(hello) // 2])
    s.shutdown(socket.SHUT_WR)
    wait_closed(s)


def plaintext_http():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    wait_closed(s)


ctx = ssl.create_default_context(cafile=ca)
live = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
live.settimeout(10)
print("first", *request(live, "/p/first"))
for name, neighbour in [("connect-and-close", connect_and_close), ("garbage-hello", garbage_client_hello),
                        ("half-handshake", half_handshake), ("plaintext", plaintext_http)]:
    neighbour()
    status, body = request(live, f"/p/after-{name}")
    print(name, status, body)
    if status != "HTTP/1.1 200 OK" or body != f"/p/after-{name}":
        raise SystemExit(f"FAIL after {name}: {status} {body}")
print("all checks passed")
