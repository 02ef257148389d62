"""Interop check with httpx against our server: keep-alive, streamed (chunked) upload, HEAD, errors.

Usage: httpx_client.py BASE_URL. Prints one line per check; exits 1 on the first mismatch.
"""
import sys
import httpx

base = sys.argv[1]


def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        sys.exit(1)


def body_sum(data: bytes) -> int:
    s = 0
    for b in data:
        s = (s * 31 + b) & 0xFFFFFFFFFFFFFFFF
    return s


with httpx.Client(base_url=base, http1=True, timeout=10) as c:
    r1 = c.get("/")
    r2 = c.get("/p/second")
    expect(r1.status_code == 200 and r1.json() == {"path": "/"}, "GET / answers JSON")
    expect(r2.text == "/p/second", "second request on the same client")
    # httpx keeps one pooled connection for sequential requests to one origin.
    pool = c._transport._pool
    expect(len(pool.connections) == 1, "one keep-alive connection was reused")

    payload = bytes((i * 7) & 0xFF for i in range(300_000))

    def gen():
        for i in range(0, len(payload), 10_000):
            yield payload[i:i + 10_000]

    r = c.post("/echo", content=gen())  # a generator body is sent chunked
    expect(r.request.headers.get("transfer-encoding") == "chunked", "upload was chunked")
    expect(r.json() == {"bytes": len(payload), "sum": body_sum(payload)}, "chunked upload arrived intact")

    h = c.head("/p/abc")
    expect(h.status_code == 200 and h.headers["content-length"] == "6" and h.content == b"", "HEAD has length, no body")

    n = c.get("/nowhere")
    expect(n.status_code == 404 and n.json()["error"]["status"] == 404, "404 has a JSON error body")
print("httpx: all checks passed")
