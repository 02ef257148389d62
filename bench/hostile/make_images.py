#!/usr/bin/env python3
"""Writes one OCI image layout per hostile cataloger input, at a size factor, for bench/hostile/run.sh:
python3 make_images.py OUT_DIR FACTOR. Each layout holds one layer with one adversarial file (the same
inputs as Tests/AgentTests/HostileCatalogerTests.swift's work-counter tests, scaled by FACTOR)."""
import gzip
import hashlib
import io
import json
import os
import struct
import sys
import tarfile


def blob(root, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def layout(root, files):
    """An OCI layout of one layer holding `files` ({path: (bytes, mode)})."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, (data, mode) in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    layer, layer_size = blob(root, gzip.compress(raw.getvalue(), 1))
    config, config_size = blob(root, json.dumps({"architecture": "amd64", "os": "linux",
                                                 "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode())
    manifest, manifest_size = blob(root, json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": layer_size}]}).encode())
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                       "digest": manifest, "size": manifest_size,
                                                       "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n])


def go_binary(flags):
    """An ELF executable with Go build info (inline strings) whose main module is `m (devel)` and whose
    -ldflags are `flags`: one writable PT_LOAD segment mapping the whole file."""
    sentinel = b"\x30" * 16
    mod = sentinel + b"path\tm\nmod\tm\t(devel)\t\nbuild\t-ldflags=" + flags + b"\n" + sentinel
    info = b"\xff Go buildinf:" + bytes([8, 2]) + b"\0" * 16 + uvarint(8) + b"go1.22.0" + uvarint(len(mod)) + mod
    start = 128
    size = start + len(info)
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8 + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 6, 0, 0, 0, size, size, 4096)
    return (header + phdr).ljust(start, b"\0") + info


def zip_shared(n):
    """A jar whose n central-directory entries (lib/x<k>.jar) all point at one stored entry of 64n bytes."""
    data = b"A" * (64 * n)
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, len(data), len(data), 9, 0) + b"lib/0.jar" + data
    central = b""
    for k in range(n):
        name = f"lib/x{k}.jar".encode()
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, 0, len(data), len(data),
                               len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), len(local), 0)
    return local + central + end


def jar_many_poms(n):
    """A jar whose manifest has n named sections and which holds n pom.properties of other artifacts: the
    archive's group ID (read from every manifest section) used to be worked out again for each pom."""
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n\n" + "".join(f"Name: s{i}\nX: y\n\n" for i in range(n)))
        for i in range(n):
            z.writestr(f"META-INF/maven/g/a{i}/pom.properties", f"groupId=g\nartifactId=a{i}\nversion=1\n")
    return out.getvalue()


def deps_chain(n):
    targets = {f"L{i}/1.0": ({"dependencies": {f"L{i + 1}": "1.0"}} if i + 1 < n else {"runtime": {"L.dll": {}}}) for i in range(n)}
    return json.dumps({"targets": {"t": targets}, "libraries": {f"L{i}/1.0": {"type": "package"} for i in range(n)}}).encode()


def main():
    out, factor = sys.argv[1], int(sys.argv[2])
    cases = {
        "go-ldflags": {"/usr/bin/app": (go_binary(b"m/x.ver=main.ver=a/" * (3000 * factor)), 0o755)},
        "python-continuation": {"/usr/lib/python3/dist-packages/x-1.dist-info/METADATA":
                                ((b"Name: x\nVersion: 1\nLicense: a\n" + b" more license text\n" * (20000 * factor)), 0o644)},
        "dotnet-chain": {"/app/app.deps.json": (deps_chain(2000 * factor), 0o644)},
        "jar-shared-entries": {"/app/app.jar": (zip_shared(256 * factor), 0o644)},
        "jar-many-poms": {"/app/app-1.0.jar": (jar_many_poms(1000 * factor), 0o644)},
        "java-file-name": {"/app/" + "a-" * (2000 * factor) + "a.jar": (b"not a zip", 0o644)},
    }
    for name, files in cases.items():
        layout(os.path.join(out, name), files)


if __name__ == "__main__":
    main()
