"""Interop check with h11 (a strict HTTP/1.1 state machine) against our server.

Sends two requests on one socket, the second with a Content-Length body, and validates every
response event h11 parses. Usage: h11_client.py PORT. Exits 1 on any protocol error or mismatch.
"""
import socket
import sys
import h11

port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h11.Connection(our_role=h11.CLIENT)


def send(event):
    data = conn.send(event)
    if data:
        sock.sendall(data)


def next_event():
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(sock.recv(65536))
            continue
        return event


def exchange(method, target, body=b""):
    headers = [("Host", "127.0.0.1"), ("Content-Length", str(len(body)))]
    send(h11.Request(method=method, target=target, headers=headers))
    if body:
        send(h11.Data(data=body))
    send(h11.EndOfMessage())
    response = next_event()
    assert isinstance(response, h11.Response), response
    data = b""
    while True:
        event = next_event()
        if isinstance(event, h11.Data):
            data += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
    return response, data


try:
    r, data = exchange("GET", "/p/h11")
    assert r.status_code == 200 and data == b"/p/h11", (r, data)
    conn.start_next_cycle()  # only possible if both sides kept the connection alive
    r, data = exchange("POST", "/echo", b"hello h11")
    assert r.status_code == 200 and data.startswith(b'{"bytes":9,'), (r, data)
    conn.start_next_cycle()
    r, data = exchange("GET", "/nowhere")
    assert r.status_code == 404, r
except Exception as e:  # noqa: BLE001
    print("FAIL", repr(e))
    sys.exit(1)
print("h11: all checks passed")
