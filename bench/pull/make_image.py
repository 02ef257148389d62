#!/usr/bin/env python3
"""Builds a multi-layer image of about --megabytes compressed (gzip tar layers of realistically
compressible data) and pushes it to a registry with Tests/registry/fixture.py's push client.

    .venv/bin/python bench/pull/make_image.py --url http://127.0.0.1:PORT [--repo big/image --tag 1]
        [--layers 7] [--megabytes 300] [--cache bench/out/pull-cache] [--out image.json]

Layers are built once and cached (by their parameters) under --cache, so later runs only push. Each layer
is a tar of files of three kinds, by count: ~25% random (like already-compressed assets), ~40% text
drawn from a Zipf-distributed vocabulary (like sources, scripts, package metadata), ~35% binary-like
(short random runs interleaved with text, like executables and their string tables). gzip -6 shrinks
the whole about 2-2.5x. Everything is deterministic (seeded, fixed tar mtimes and owners, gzip mtime 0).
Prints (and writes to --out) one JSON object: reference, digest, layers with sizes, totals, ratio.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "registry"))
from fixture import (MT_OCI_CONFIG, MT_OCI_LAYER_GZIP, MT_OCI_MANIFEST, MTIME, RegistryClient,  # noqa: E402
                     digest_of, jbytes)

EXPECTED_RATIO = 2.2
# Shares of the uncompressed bytes, base layer first (a distro base, runtimes, libraries, the app, ...).
LAYER_WEIGHTS = [0.22, 0.18, 0.15, 0.13, 0.12, 0.11, 0.09]
FORMAT_VERSION = 2  # bump when the generator changes, so cached layers are rebuilt


def text_pool(seed: int, size: int = 8 << 20) -> bytes:
    """About `size` bytes of code-like word soup: a 1500-word vocabulary with Zipf-like frequencies
    (exponent 1.2), indented lines of 8 words; gzip -6 shrinks it about 4x."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(1500)]
    weights = [1.0 / (i + 1) ** 1.2 for i in range(len(vocab))]
    words = rng.choices(vocab, weights, k=size // 6)
    out = io.StringIO()
    for i in range(0, len(words), 8):
        out.write("    " * rng.randint(0, 3))
        out.write(" ".join(words[i:i + 8]))
        out.write(";\n")
    return out.getvalue().encode()[:size]


def layer_files(rng: random.Random, pool: bytes, target: int, index: int):
    """(path, bytes) files adding up to about `target` bytes."""
    total, n = 0, 0
    while total < target:
        size = min(int(2 ** rng.uniform(12, 22)), target - total + 512)  # 4 KiB .. 4 MiB, log-uniform
        kind = rng.choices(["random", "text", "binary"], [0.25, 0.40, 0.35])[0]
        if kind == "random":
            data, path = rng.randbytes(size), f"usr/share/assets{index}/blob{n:05d}.bin"
        elif kind == "text":
            off = rng.randrange(0, len(pool) - size) if size < len(pool) else 0
            data, path = (pool[off:off + size] * (1 + size // len(pool)))[:size], f"usr/lib/pkg{index}/src/file{n:05d}.txt"
        else:
            parts, left = [], size
            while left > 0:
                r = rng.randbytes(min(left, rng.randint(16, 256)))
                left -= len(r)
                t = min(left, rng.randint(256, 2048))
                off = rng.randrange(0, len(pool) - t) if t else 0
                parts += [r, pool[off:off + t]]
                left -= t
            data, path = b"".join(parts), f"usr/lib/lib{index}/mod{n:05d}.so"
        yield path, data
        total += len(data)
        n += 1


def build_layer(seed: int, index: int, target: int, cache: str) -> dict:
    rng = random.Random(seed * 1000 + index)
    pool = text_pool(seed + index)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        dirs = set()
        for path, data in layer_files(rng, pool, target, index):
            d = os.path.dirname(path)
            if d not in dirs:
                for i in range(1, d.count("/") + 2):
                    sub = "/".join(d.split("/")[:i])
                    if sub not in dirs:
                        dirs.add(sub)
                        ti = tarfile.TarInfo(sub)
                        ti.type, ti.mode, ti.mtime, ti.uname, ti.gname = tarfile.DIRTYPE, 0o755, MTIME, "root", "root"
                        tf.addfile(ti)
            ti = tarfile.TarInfo(path)
            ti.size, ti.mode, ti.mtime, ti.uname, ti.gname = len(data), 0o644, MTIME, "root", "root"
            tf.addfile(ti, io.BytesIO(data))
    tar = buf.getvalue()
    blob = gzip.compress(tar, compresslevel=6, mtime=0)
    digest = digest_of(blob)
    path = Path(cache) / "blobs" / digest.split(":")[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(blob)
    tmp.rename(path)
    return {"mediaType": MT_OCI_LAYER_GZIP, "digest": digest, "size": len(blob),
            "diff_id": "sha256:" + hashlib.sha256(tar).hexdigest(), "uncompressed_size": len(tar)}


def build_image(layers: int, megabytes: int, seed: int, cache_root: Path) -> tuple[Path, dict]:
    key = f"v{FORMAT_VERSION}-l{layers}-m{megabytes}-s{seed}"
    cache = cache_root / key
    record_path = cache / "image.json"
    if record_path.exists():
        record = json.loads(record_path.read_text())
        if all((cache / "blobs" / l["digest"].split(":")[1]).exists() for l in record["layers"]):
            return cache, record
    weights = (LAYER_WEIGHTS * (1 + layers // len(LAYER_WEIGHTS)))[:layers]
    total_uncompressed = megabytes * 1_000_000 * EXPECTED_RATIO
    targets = [int(total_uncompressed * w / sum(weights)) for w in weights]
    t0 = time.monotonic()
    workers = max(1, min(layers, os.cpu_count() or 1))
    with concurrent.futures.ProcessPoolExecutor(workers) as ex:
        descs = list(ex.map(build_layer, [seed] * layers, range(layers), targets, [str(cache)] * layers))
    config = jbytes({"created": "2024-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
                     "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                                "Cmd": ["/bin/sh"]},
                     "rootfs": {"type": "layers", "diff_ids": [d["diff_id"] for d in descs]},
                     "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"ADD layer{i}.tar /"}
                                 for i in range(layers)]})
    (cache / "blobs" / digest_of(config).split(":")[1]).write_bytes(config)
    manifest = jbytes({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                       "config": {"mediaType": MT_OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
                       "layers": [{k: d[k] for k in ("mediaType", "digest", "size")} for d in descs]})
    (cache / "manifest.json").write_bytes(manifest)
    compressed = sum(d["size"] for d in descs)
    uncompressed = sum(d["uncompressed_size"] for d in descs)
    record = {"digest": digest_of(manifest), "config": {"digest": digest_of(config), "size": len(config)},
              "layers": descs, "bytes": compressed, "uncompressed_bytes": uncompressed,
              "ratio": round(uncompressed / compressed, 2), "build_seconds": round(time.monotonic() - t0, 1)}
    record_path.write_text(json.dumps(record, indent=1) + "\n")
    return cache, record


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--repo", default="big/image")
    p.add_argument("--tag", default="1")
    p.add_argument("--layers", type=int, default=7)
    p.add_argument("--megabytes", type=int, default=300, help="compressed size to aim at (MB, 10^6 bytes)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cache", default=str(ROOT / "bench" / "out" / "pull-cache"))
    p.add_argument("--out")
    a = p.parse_args()
    cache, record = build_image(a.layers, a.megabytes, a.seed, Path(a.cache))
    t0 = time.monotonic()
    c = RegistryClient(a.url, timeout=120)
    try:
        c.ping()
        config = (cache / "blobs" / record["config"]["digest"].split(":")[1]).read_bytes()
        c.upload_blob(a.repo, config)
        for l in record["layers"]:
            c.upload_blob(a.repo, (cache / "blobs" / l["digest"].split(":")[1]).read_bytes(), l["digest"])
        digest = c.put_manifest(a.repo, a.tag, (cache / "manifest.json").read_bytes(), MT_OCI_MANIFEST)
    finally:
        c.close()
    if digest != record["digest"]:
        print(f"make_image: the registry stored the manifest as {digest}, expected {record['digest']}", file=sys.stderr)
        return 1
    out = {"reference": f"{a.repo}:{a.tag}", **record, "push_seconds": round(time.monotonic() - t0, 1), "cache": str(cache)}
    text = json.dumps(out)
    if a.out:
        Path(a.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
