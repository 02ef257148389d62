#!/usr/bin/env python3
"""Builds and pushes the capacity benchmark's images: --count distinct images of about --megabytes
uncompressed each, from shared and unshared layers, as a registry of one company's services holds them.

    .venv/bin/python bench/capacity/make_images.py --url http://127.0.0.1:PORT [--count 40]
        [--megabytes 350] [--cache bench/out/capacity-cache] [--out images.json]

Image i has five gzip layers, base first (shares of the uncompressed size):
  - a base (35%), one of 4, shared by every fourth image (like a distro base);
  - a runtime (20%), one of 2, shared by every other image (like a language runtime);
  - two application layers (22% + 22%), unique to the image;
  - a small package layer, unique: a dpkg status database of 120 packages and 40 npm packages under
    node_modules, names and versions varying with i, so every scan finds packages and each finds its own.
The big layers come from bench/pull/make_image.py's generator (realistically compressible files, about
2.2x under gzip -6), cached by their parameters under --cache, so only the first run pays for building
them. Prints (and writes to --out) a JSON list: reference, digest, compressed and uncompressed bytes,
expected package counts.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "pull"))
sys.path.insert(0, str(ROOT / "Tests" / "registry"))
from make_image import build_layer  # noqa: E402
from fixture import (MT_OCI_CONFIG, MT_OCI_LAYER_GZIP, MT_OCI_MANIFEST, MTIME, RegistryClient,  # noqa: E402
                     digest_of, jbytes)

SHARES = [0.35, 0.20, 0.22, 0.22]
DPKG_PACKAGES = 120
NPM_PACKAGES = 40


def package_layer(i: int) -> tuple[bytes, bytes]:
    """(gzip blob, tar) of the image's package layer."""
    entries: list[tuple[str, bytes]] = []
    status = []
    for p in range(DPKG_PACKAGES):
        status.append(f"Package: lib{p:03d}-img{i}\nStatus: install ok installed\nPriority: optional\n"
                      f"Section: libs\nInstalled-Size: {100 + p}\nMaintainer: Bench <bench@example.org>\n"
                      f"Architecture: amd64\nSource: src{p:03d}\nVersion: 1.{i}.{p}-1\n"
                      f"Description: benchmark package {p} of image {i}\n")
    entries.append(("var/lib/dpkg/status", "\n".join(status).encode()))
    entries.append(("etc/os-release", b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
                                      b'VERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n'))
    for p in range(NPM_PACKAGES):
        name = f"bench-mod{p:02d}-img{i}"
        entries.append((f"app/node_modules/{name}/package.json",
                        json.dumps({"name": name, "version": f"{1 + p % 5}.{i}.{p}", "license": "MIT"}).encode()))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        dirs: set[str] = set()
        for path, data in entries:
            parts = path.split("/")[:-1]
            for k in range(1, len(parts) + 1):
                d = "/".join(parts[:k])
                if d not in dirs:
                    dirs.add(d)
                    ti = tarfile.TarInfo(d)
                    ti.type, ti.mode, ti.mtime, ti.uname, ti.gname = tarfile.DIRTYPE, 0o755, MTIME, "root", "root"
                    tf.addfile(ti)
            ti = tarfile.TarInfo(path)
            ti.size, ti.mode, ti.mtime, ti.uname, ti.gname = len(data), 0o644, MTIME, "root", "root"
            tf.addfile(ti, io.BytesIO(data))
    tar = buf.getvalue()
    return gzip.compress(tar, compresslevel=6, mtime=0), tar


def layer_specs(i: int, megabytes: int) -> list[tuple[int, int, int]]:
    """(seed, index, uncompressed target bytes) of image i's big layers: seeds 100+ are the shared
    bases, 200+ the shared runtimes, 1000+i the image's own."""
    total = megabytes * 1_000_000
    return [(100 + i % 4, 0, int(total * SHARES[0])), (200 + i % 2, 1, int(total * SHARES[1])),
            (1000 + i, 2, int(total * SHARES[2])), (1000 + i, 3, int(total * SHARES[3]))]


def cached_layer(spec: tuple[int, int, int], cache: Path) -> dict:
    seed, index, target = spec
    key = cache / f"layer-s{seed}-i{index}-b{target}.json"
    if key.exists():
        d = json.loads(key.read_text())
        if (cache / "blobs" / d["digest"].split(":")[1]).exists():
            return d
    d = build_layer(seed, index, target, str(cache))
    key.write_text(json.dumps(d) + "\n")
    return d


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--count", type=int, default=40)
    p.add_argument("--megabytes", type=int, default=350, help="uncompressed size of each image (MB, 10^6 bytes)")
    p.add_argument("--cache", default=str(ROOT / "bench" / "out" / "capacity-cache"))
    p.add_argument("--out")
    a = p.parse_args()
    cache = Path(a.cache)
    (cache / "blobs").mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    specs = sorted({s for i in range(a.count) for s in layer_specs(i, a.megabytes)})
    with concurrent.futures.ProcessPoolExecutor(max(1, os.cpu_count() or 1)) as ex:
        built = dict(zip(specs, ex.map(cached_layer, specs, [cache] * len(specs))))
    build_seconds = time.monotonic() - t0
    c = RegistryClient(a.url, timeout=300)
    images = []
    pushed: set[tuple[str, str]] = set()
    try:
        c.ping()
        for i in range(a.count):
            repo = f"capacity/service{i:02d}"
            descs = [built[s] for s in layer_specs(i, a.megabytes)]
            blob, tar = package_layer(i)
            descs.append({"mediaType": MT_OCI_LAYER_GZIP, "digest": digest_of(blob), "size": len(blob),
                          "diff_id": "sha256:" + hashlib.sha256(tar).hexdigest(), "uncompressed_size": len(tar)})
            for d in descs[:-1]:
                if (repo, d["digest"]) not in pushed:
                    c.upload_blob(repo, (cache / "blobs" / d["digest"].split(":")[1]).read_bytes(), d["digest"])
                    pushed.add((repo, d["digest"]))
            c.upload_blob(repo, blob, descs[-1]["digest"])
            config = jbytes({"created": "2024-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
                             "config": {"Cmd": ["/bin/sh"]},
                             "rootfs": {"type": "layers", "diff_ids": [d["diff_id"] for d in descs]},
                             "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"ADD layer{k}.tar /"}
                                         for k in range(len(descs))]})
            c.upload_blob(repo, config)
            manifest = jbytes({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                               "config": {"mediaType": MT_OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
                               "layers": [{k: d[k] for k in ("mediaType", "digest", "size")} for d in descs]})
            digest = c.put_manifest(repo, "1", manifest, MT_OCI_MANIFEST)
            images.append({"reference": f"{repo}:1", "digest": digest,
                           "bytes": sum(d["size"] for d in descs) + len(config),
                           "uncompressed_bytes": sum(d["uncompressed_size"] for d in descs),
                           "layers": [d["digest"] for d in descs],
                           "packages": {"deb": DPKG_PACKAGES, "npm": NPM_PACKAGES}})
    finally:
        c.close()
    text = json.dumps({"images": images, "build_seconds": round(build_seconds, 1),
                       "push_seconds": round(time.monotonic() - t0 - build_seconds, 1),
                       "distinct_layers": len(specs) + a.count, "cache": str(cache)})
    if a.out:
        Path(a.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
