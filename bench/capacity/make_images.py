#!/usr/bin/env python3
"""Builds and pushes the capacity benchmark's images to a registry: N distinct images of about SIZE MB
(uncompressed) each, made of layers every image shares (a Debian-like base with a dpkg status database of
60 packages, and shared data) and one layer of its own (data plus an npm package), so the layer cache
serves the shared part after the first image. The data is pseudo-text (random bytes over a 16-letter
alphabet): it compresses to about half, as binaries and text in real layers do. Writes a JSON summary
(refs, compressed and uncompressed bytes, the blob files of the shared layers and of the first few own
layers for the pipeline limit) to stdout.

    make_images.py --url http://127.0.0.1:PORT --images 40 --size-mb 350 --shared-mb 200 --blobs DIR
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "registry"))
from fixture import MT_OCI_LAYER_GZIP, Image, Layer, RegistryClient, digest_of, make_tar  # noqa: E402

ALPHABET = bytes.maketrans(bytes(range(256)), bytes(b"etaoinshrdlucmfw"[i % 16] for i in range(256)))


def text(rnd: random.Random, n: int) -> bytes:
    return rnd.randbytes(n).translate(ALPHABET)


def gzip_layer(entries: list[tuple]) -> Layer:
    tar = make_tar(entries)
    c = zlib.compressobj(1, zlib.DEFLATED, 31)       # gzip, level 1: building 14 GB must not take an hour
    blob = c.compress(tar) + c.flush()
    layer = Layer(raw=blob, media_type=MT_OCI_LAYER_GZIP)
    layer.uncompressed, layer.diff_id = tar, digest_of(tar)
    return layer


def dpkg_status(count: int) -> bytes:
    out = []
    for i in range(count):
        out.append(f"Package: bench-pkg-{i:03d}\nStatus: install ok installed\nPriority: optional\nSection: misc\n"
                   f"Installed-Size: {100 + i}\nMaintainer: Bench <bench@example.invalid>\nArchitecture: amd64\n"
                   f"Version: 1.{i}.0-1\nDescription: package {i} of the capacity benchmark\n")
    return "\n".join(out).encode()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--images", type=int, default=40)
    p.add_argument("--size-mb", type=int, default=350)
    p.add_argument("--shared-mb", type=int, default=200)
    p.add_argument("--blobs", required=True, help="write the shared layers' blobs and the first 3 own layers' here")
    a = p.parse_args()
    own_mb = max(1, a.size_mb - a.shared_mb)
    rnd = random.Random(350)
    blobs = Path(a.blobs)
    blobs.mkdir(parents=True, exist_ok=True)
    osr = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
    base = gzip_layer([("etc", None), ("etc/os-release", osr), ("var", None), ("var/lib", None), ("var/lib/dpkg", None),
                       ("var/lib/dpkg/status", dpkg_status(60)), ("usr", None), ("usr/share", None),
                       ("usr/share/base.bin", text(rnd, (a.shared_mb // 2) << 20))])
    shared = gzip_layer([("opt", None), ("opt/shared.bin", text(rnd, (a.shared_mb - a.shared_mb // 2) << 20))])
    c = RegistryClient(a.url)
    files, refs, sizes = [], [], []
    compressed = uncompressed = 0
    for layer in (base, shared):
        path = blobs / layer.digest.split(":")[1]
        path.write_bytes(layer.blob)
        files.append(str(path))
    try:
        for i in range(a.images):
            pkg = json.dumps({"name": f"bench-app-{i}", "version": f"1.0.{i}"}).encode()
            own = gzip_layer([("app", None), ("app/package.json", pkg), ("app/own.bin", text(rnd, own_mb << 20))])
            img = Image([base, shared, own], {"os": "linux", "architecture": "amd64"})
            repo = f"capacity/app-{i:03d}"
            for digest, data in img.blobs():
                if i > 0 and digest in (base.digest, shared.digest):
                    if c.mount_blob(repo, digest, "capacity/app-000") == 201:
                        continue
                c.upload_blob(repo, data, digest)
            c.put_manifest(repo, "1.0", img.manifest, img.media_type)
            refs.append(f"{repo}:1.0")
            compressed += sum(l.size for l in img.layers)
            sizes.append(sum(l.size for l in img.layers))
            uncompressed += sum(len(l.uncompressed) for l in img.layers)
            if i < 3:
                path = blobs / own.digest.split(":")[1]
                path.write_bytes(own.blob)
                files.append(str(path))
            print(f"make_images: pushed {repo} ({own.size >> 20} MiB own compressed)", file=sys.stderr)
    finally:
        c.close()
    json.dump({"refs": refs, "compressed_bytes": compressed, "uncompressed_bytes": uncompressed,
               "shared_compressed_bytes": base.size + shared.size, "image_compressed_bytes": sizes, "limit_blobs": files}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
