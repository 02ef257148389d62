#!/usr/bin/env python3
"""Accuracy fixtures for the scanner: real images built once per cache key, pushed to a local registry and
written as OCI layout directories and `docker save`-style tarballs.

    build_fixtures.py build [--with-big] [--cache-dir DIR] [--rebuild] [--no-push] [--max-lifetime S]
    build_fixtures.py stop  [--cache-dir DIR]
    build_fixtures.py verify [--image NAME]            # merge layers, check the expected files and status
    build_fixtures.py path  [--cache-dir DIR]          # print the cache key directory

Images (see Tests/accuracy/README.md for what each one holds and why):
  debian-python  mmdebstrap --variant=minbase bookworm root (layer 1) + python3 and language packages
                 installed with apt in a second mmdebstrap pass (layer 2, a diff with whiteouts)
  rpm-image      an rpm database written by Debian's rpm from packages built here with rpmbuild, RHEL-9-like
  apk-image      /lib/apk/db/installed written by this script in Alpine's format (no apk tooling here)
  layered-deb    debian-python's layer 1 + a layer installing two .deb packages by hand + a layer that
                 removes one (whiteouts), upgrades the other (opaque dir) and leaves one in config-files
  big            (--with-big) ~350 MB: the Debian root, an OpenJDK layer from Debian's .debs, an app layer
                 (node_modules, site-packages, logs) and a layer of incompressible assets

The cache key is the SHA-256 of this file: edit it and everything is rebuilt; run it again unchanged and
everything built is reused (the registry storage too, so a second run only checks blobs with HEAD).
Network: the Debian archive through apt's own sources (mmdebstrap, apt-get download) and 127.0.0.1.
"""
from __future__ import annotations

import argparse
import fcntl
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "Tests" / "registry"))
import fixture as fx  # noqa: E402  the registry harness: RegistryFixture CLI, RegistryClient, media types

SCRIPT_KEY = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
APT_SOURCES = "/etc/apt/sources.list.d/debian.sources"  # the sources apt itself uses on this machine
SUITE = "bookworm"
DEBIAN_PYTHON_PACKAGES = [
    "python3", "python3-six", "python3-requests",                     # pip: six, requests + its deps
    "node-lru-cache", "node-once", "node-isexe", "node-underscore",  # npm: /usr/share/nodejs/*/package.json
    "libcommons-lang3-java",                                          # maven: /usr/share/java/*.jar
    "ruby-rack",                                                      # gem: ruby + rack gemspecs
]
# debian:bookworm-slim's path filters: no man pages, docs (but copyright), locales, info.
DPKG_SLIM = ["path-exclude=/usr/share/man/*", "path-exclude=/usr/share/doc/*",
             "path-include=/usr/share/doc/*/copyright", "path-exclude=/usr/share/locale/*",
             "path-exclude=/usr/share/info/*"]
BIG_DEBS = ["openjdk-17-jre-headless", "openjdk-17-jdk-headless"]
REPO_PREFIX = "accuracy"
TAG = "1"
OPQ = ".wh..wh..opq"
CREATED = "2024-06-01T00:00:00Z"
FIXED_MTIME = 1717200000


class BuildError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"accuracy: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], timeout: float, cwd: Path | None = None, log_to: Path | None = None,
        env: dict | None = None, input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run with a deadline; on failure raise with the tail of the output (or the log file's)."""
    try:
        if log_to:
            with open(log_to, "ab") as lf:
                p = subprocess.run(cmd, cwd=cwd, stdout=lf, stderr=subprocess.STDOUT, timeout=timeout, env=env,
                                   input=input)
        else:
            p = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=timeout, env=env, input=input)
    except subprocess.TimeoutExpired:
        raise BuildError(f"{cmd[0]} timed out after {timeout:.0f}s" + (f"; see {log_to}" if log_to else "")) from None
    except FileNotFoundError:
        raise BuildError(f"{cmd[0]} is not installed: run scripts/deps.sh") from None
    if p.returncode != 0:
        tail = (log_to.read_text(errors="replace")[-3000:] if log_to else
                (p.stderr or b"").decode(errors="replace")[-3000:])
        raise BuildError(f"{' '.join(cmd[:3])}... failed ({p.returncode}):\n{tail}")
    return p


def cache_root(arg: str | None) -> Path:
    if arg:
        return Path(arg).resolve()
    if os.environ.get("CR_ACCURACY_CACHE"):
        return Path(os.environ["CR_ACCURACY_CACHE"]).resolve()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).resolve() / "cr-agent-accuracy"
    return REPO / ".build-accuracy"


def jdump(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=False) + "\n"


# ----------------------------------------------------------------------------------------------- blobs and layers

class HashingWriter(io.RawIOBase):
    def __init__(self, f):
        self.f, self.h, self.n = f, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.h.update(b)
        self.n += len(b)
        return self.f.write(b)


class Store:
    """Content-addressed blobs (KEY/blobs/sha256/<hex>), shared by every image and every OCI layout."""

    def __init__(self, key_dir: Path):
        self.dir = key_dir / "blobs" / "sha256"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tmp = key_dir / "tmp"
        self.tmp.mkdir(exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.dir / digest.split(":", 1)[1]

    def put_bytes(self, data: bytes) -> dict:
        d = fx.digest_of(data)
        p = self.path(d)
        if not p.exists():
            fx.write_atomic(p, data)
        return {"digest": d, "size": len(data)}

    def layer_from_tar(self, tar_path: Path, comment: str) -> dict:
        """gzip a finished uncompressed tar into the store; returns the layer record."""
        h = hashlib.sha256()
        usize = 0
        gz_tmp = self.tmp / (tar_path.name + ".gz")
        with open(tar_path, "rb") as src, open(gz_tmp, "wb") as raw:
            hw = HashingWriter(raw)
            with gzip.GzipFile(filename="", mode="wb", fileobj=hw, compresslevel=6, mtime=0) as gz:
                while chunk := src.read(1 << 20):
                    h.update(chunk)
                    usize += len(chunk)
                    gz.write(chunk)
        digest = "sha256:" + hw.h.hexdigest()
        os.replace(gz_tmp, self.path(digest))
        tar_path.unlink()
        return {"mediaType": fx.MT_OCI_LAYER_GZIP, "digest": digest, "size": hw.n,
                "diff_id": "sha256:" + h.hexdigest(), "uncompressed_size": usize, "comment": comment}


EXCLUDE_ALWAYS = {"etc/resolv.conf", "etc/hostname"}  # the host's, copied in by mmdebstrap; docker provides both
EMPTY_DIRS = {"dev", "proc", "sys"}                  # kept, but never their contents


def walk(root: Path) -> list[str]:
    """Relative paths under root, parents first, names sorted, except that an opaque marker comes after
    its directory's other entries (a scanner must honour it whatever its position in the tar)."""
    out: list[str] = []

    def rec(rel: str) -> None:
        names = sorted(os.listdir(root / rel if rel else root))
        if OPQ in names:
            names = [n for n in names if n != OPQ] + [OPQ]
        for n in names:
            r = f"{rel}/{n}" if rel else n
            if r in EXCLUDE_ALWAYS:
                continue
            out.append(r)
            p = root / r
            if p.is_dir() and not p.is_symlink() and r not in EMPTY_DIRS:
                rec(r)
    rec("")
    return out


def tar_paths(root: Path, rels: list[str], out: Path, whiteouts: list[str] = ()) -> int:
    """Write an uncompressed tar of root/rel for each rel (in the given order) plus empty whiteout files.
    Hardlinks inside the tar stay hardlinks; owners numeric; names of owners dropped; mtimes whole seconds."""
    entries = [(r, False) for r in rels] + [(w, True) for w in whiteouts]
    if whiteouts:
        # Keep parents before children: sort by path components, whiteouts among their siblings.
        entries.sort(key=lambda e: e[0].split("/"))
    n = 0
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        for rel, is_wh in entries:
            if is_wh:
                ti = tarfile.TarInfo(rel)
                ti.mtime, ti.mode, ti.uid, ti.gid = FIXED_MTIME, 0o644, 0, 0
                tf.addfile(ti)
                n += 1
                continue
            p = root / rel
            ti = tf.gettarinfo(str(p), arcname=rel)
            if ti is None:  # socket
                continue
            ti.mtime, ti.uname, ti.gname = int(ti.mtime), "", ""
            if ti.isreg():
                with open(p, "rb") as f:
                    tf.addfile(ti, f)
            else:
                tf.addfile(ti)
            n += 1
    return n


def layer_of_dir(store: Store, root: Path, comment: str) -> dict:
    tmp = store.tmp / f"layer-{os.getpid()}-{time.monotonic_ns()}.tar"
    n = tar_paths(root, walk(root), tmp)
    rec = store.layer_from_tar(tmp, comment)
    rec["entries"] = n
    return rec


def tree_diff(lower: Path, upper: Path) -> tuple[list[str], list[str]]:
    """What a layer on top of `lower` must hold to give `upper`: changed/new paths (with their parent
    directories) and whiteouts for paths that are gone (only the top-most gone path)."""
    def key(st: os.stat_result) -> tuple:
        return (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)

    lower_paths = set(walk(lower))
    upper_list = walk(upper)
    upper_set = set(upper_list)
    changed: set[str] = set()
    for rel in upper_list:
        u = os.lstat(upper / rel)
        if rel not in lower_paths:
            changed.add(rel)
            continue
        l = os.lstat(lower / rel)
        if key(u) != key(l):
            changed.add(rel)
        elif stat.S_ISLNK(u.st_mode):
            if os.readlink(upper / rel) != os.readlink(lower / rel):
                changed.add(rel)
        elif stat.S_ISREG(u.st_mode):
            if u.st_size != l.st_size:
                changed.add(rel)
            elif int(u.st_mtime) != int(l.st_mtime) and not same_content(upper / rel, lower / rel):
                changed.add(rel)
    with_parents = set(changed)
    for rel in changed:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            with_parents.add("/".join(parts[:i]))
    whiteouts = []
    for rel in sorted(lower_paths - upper_set):
        if _gone_above(rel, lower_paths, upper_set):
            continue  # an ancestor directory is gone too: its whiteout covers this path
        parent, _, name = rel.rpartition("/")
        if parent and not (upper / parent).is_dir():
            continue  # the parent became a non-directory, which replaces the lower directory whole
        whiteouts.append(f"{parent}/.wh.{name}" if parent else f".wh.{name}")
        parts = parent.split("/") if parent else []
        for i in range(1, len(parts) + 1):  # the whiteout sits in its parent directory: keep that in the layer
            with_parents.add("/".join(parts[:i]))
    rels = [r for r in upper_list if r in with_parents]
    return rels, whiteouts


def _gone_above(rel: str, lower: set, upper: set) -> bool:
    parts = rel.split("/")
    for i in range(1, len(parts)):
        p = "/".join(parts[:i])
        if p in lower and p not in upper:
            return True
    return False


def same_content(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 16), fb.read(1 << 16)
            if x != y:
                return False
            if not x:
                return True


# ----------------------------------------------------------------------------------------------- images

def make_image(store: Store, name: str, layers: list[dict], history: list[str], docker: bool = False,
               labels: dict | None = None, env: list[str] | None = None, cmd: list[str] | None = None,
               expected: dict | None = None, notes: list[str] | None = None) -> dict:
    """Config + manifest into the store; returns the image record (also KEY/images/NAME.json)."""
    assert len(history) == len(layers), (name, len(history), len(layers))
    hist = [{"created": CREATED, "created_by": h, "comment": l.get("comment", "")} for h, l in zip(history, layers)]
    hist.append({"created": CREATED, "created_by": f'/bin/sh -c #(nop)  CMD {json.dumps(cmd or ["/bin/sh"])}',
                 "empty_layer": True})
    config = {"created": CREATED, "architecture": "amd64", "os": "linux",
              "config": {"Env": env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                         "Cmd": cmd or ["/bin/sh"], "Labels": labels or {}},
              "rootfs": {"type": "layers", "diff_ids": [l["diff_id"] for l in layers]},
              "history": hist}
    cfg_bytes = fx.jbytes(config)
    cfg = store.put_bytes(cfg_bytes)
    lmt = fx.MT_DOCKER_LAYER if docker else fx.MT_OCI_LAYER_GZIP
    mt = fx.MT_DOCKER_MANIFEST if docker else fx.MT_OCI_MANIFEST
    manifest = {"schemaVersion": 2, "mediaType": mt,
                "config": {"mediaType": fx.MT_DOCKER_CONFIG if docker else fx.MT_OCI_CONFIG, **cfg},
                "layers": [{"mediaType": lmt, "digest": l["digest"], "size": l["size"]} for l in layers]}
    mbytes = fx.jbytes(manifest)
    m = store.put_bytes(mbytes)
    return {"name": name, "repository": f"{REPO_PREFIX}/{name}", "tag": TAG, "mediaType": mt,
            "manifest_digest": m["digest"], "manifest_size": m["size"],
            "config_digest": cfg["digest"], "config_size": cfg["size"],
            "layers": [dict(l, mediaType=lmt) for l in layers],
            "compressed_size": sum(l["size"] for l in layers),
            "uncompressed_size": sum(l["uncompressed_size"] for l in layers),
            "expected": expected or {}, "notes": notes or []}


def parse_dpkg_status(text: str) -> list[dict]:
    out = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        last = None
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") and last:
                fields[last] += "\n" + line
            elif ":" in line:
                k, v = line.split(":", 1)
                fields[k] = v.strip()
                last = k
        if "Package" in fields:
            out.append(fields)
    return out


def installed_debs(status_text: str) -> list[list[str]]:
    return sorted([s["Package"], s["Version"]] for s in parse_dpkg_status(status_text)
                  if s.get("Status", "").split()[-1:] == ["installed"])


def deb_stanza_from_control(deb: Path, status: str, installed_size: int | None = None) -> str:
    ctrl = run(["dpkg-deb", "-f", str(deb)], 60).stdout.decode()
    lines = ctrl.rstrip("\n").split("\n")
    out = [lines[0], f"Status: {status}"] + lines[1:]
    return "\n".join(out) + "\n"


def sort_status(stanzas: list[str]) -> str:
    keyed = []
    for s in stanzas:
        s = s.strip("\n")
        if not s:
            continue
        name = s.split("\n", 1)[0].split(":", 1)[1].strip()
        keyed.append((name, s))
    keyed.sort(key=lambda x: x[0])
    return "".join(s + "\n\n" for _, s in keyed)


def dpkg_list_of(root: Path) -> list[str]:
    """A dpkg .list body for an extracted package tree (dirs and files, /-prefixed, '/.' first)."""
    paths = ["/."]
    for rel in walk(root):
        paths.append("/" + rel)
    return paths


def md5sums_of(root: Path) -> str:
    lines = []
    for rel in walk(root):
        p = root / rel
        if p.is_file() and not p.is_symlink() and not rel.startswith("etc/"):
            lines.append(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {rel}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------- stage: Debian roots

def mmdebstrap(args: list[str], target: Path, log_to: Path, timeout: float = 900) -> float:
    t0 = time.monotonic()
    cmd = ["mmdebstrap", "--aptopt=Acquire::Check-Valid-Until \"false\"", *args, SUITE, str(target), APT_SOURCES]
    with open(log_to, "ab") as lf:
        lf.write(("\n$ " + " ".join(cmd) + "\n").encode())
    try:
        run(cmd, timeout, log_to=log_to)
    except BuildError as e:
        tail = log_to.read_text(errors="replace")
        if any(s in tail for s in ("Could not resolve", "Failed to fetch", "Unable to connect", "Temporary failure")):
            raise BuildError(f"mmdebstrap could not reach the Debian archive named in {APT_SOURCES} "
                             f"(the mirror apt uses here): {e}") from None
        raise
    return time.monotonic() - t0


def stage_debian(key: Path, store: Store) -> dict:
    """Two mmdebstrap passes: minbase (layer 1), then apt-get install inside it (layer 2 = the diff)."""
    done = key / "stages" / "debian.json"
    if done.exists():
        return json.loads(done.read_text())
    if not Path(APT_SOURCES).exists():
        raise BuildError(f"{APT_SOURCES} is missing: cannot tell which Debian mirror apt uses here")
    work = key / "work" / "debian"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    logf = key / "stages" / "mmdebstrap.log"
    logf.parent.mkdir(exist_ok=True)
    base, full = work / "base", work / "full"
    slim = [f"--dpkgopt={o}" for o in DPKG_SLIM]
    log(f"mmdebstrap --variant=minbase {SUITE} (log: {logf})")
    t_base = mmdebstrap(["--variant=minbase", *slim], base, logf)
    log(f"minbase root in {t_base:.1f}s; installing {' '.join(DEBIAN_PYTHON_PACKAGES)}")
    # Second pass: the minbase tree copied in, then apt-get inside the chroot (what `RUN apt-get install` does).
    t_full = mmdebstrap(["--variant=custom",
                         f"--setup-hook=tar -C {base} --exclude=./dev/* -c . | tar -C \"$1\" -x",
                         "--customize-hook=chroot \"$1\" apt-get install --yes --no-install-recommends "
                         + " ".join(DEBIAN_PYTHON_PACKAGES)], full, logf)
    log(f"install pass in {t_full:.1f}s")
    t0 = time.monotonic()
    l1 = layer_of_dir(store, base, f"mmdebstrap --variant=minbase {SUITE}")
    log(f"layer 1 (minbase root) in {time.monotonic() - t0:.1f}s; diffing the trees")
    t1 = time.monotonic()
    rels, whs = tree_diff(base, full)
    tmp = store.tmp / "debian-l2.tar"
    n = tar_paths(full, rels, tmp, whs)
    l2 = store.layer_from_tar(tmp, "apt-get install " + " ".join(DEBIAN_PYTHON_PACKAGES))
    l2["entries"], l2["whiteouts"] = n, whs
    log(f"layer 2 (the diff: {n} entries, {len(whs)} whiteouts) in {time.monotonic() - t1:.1f}s")
    base_status = (base / "var/lib/dpkg/status").read_text()
    full_status = (full / "var/lib/dpkg/status").read_text()
    (key / "stages" / "debian-base.status").write_text(base_status)
    (key / "stages" / "debian-python.status").write_text(full_status)
    rec = {"layer1": l1, "layer2": l2, "mmdebstrap_base_seconds": round(t_base, 1),
           "mmdebstrap_install_seconds": round(t_full, 1), "layering_seconds": round(time.monotonic() - t0, 1),
           "base_installed": installed_debs(base_status), "full_installed": installed_debs(full_status),
           "os_release": (base / "etc/os-release").read_text(),
           "debian_version": (base / "etc/debian_version").read_text().strip()}
    remove_later(work)
    fx.write_atomic(done, jdump(rec))
    return rec


_removals: list[threading.Thread] = []


def remove_later(path: Path) -> None:
    """Deleting the two Debian trees (~20k files) can take a minute on a busy disk: rename them away and
    delete them in a thread while the other images build; the build waits for it (bounded) before it ends."""
    trash = path.parent / f".trash-{path.name}-{time.monotonic_ns()}"
    os.replace(path, trash)
    t = threading.Thread(target=shutil.rmtree, args=(trash,), kwargs={"ignore_errors": True}, daemon=True)
    t.start()
    _removals.append(t)


def wait_removals(timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    for t in _removals:
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            log("still deleting old work trees; leaving the rest for the next run")
            return


def image_debian_python(key: Path, store: Store, deb: dict) -> dict:
    return make_image(
        store, "debian-python", [deb["layer1"], deb["layer2"]],
        [f"mmdebstrap --variant=minbase {SUITE} /", "RUN apt-get install --no-install-recommends "
         + " ".join(DEBIAN_PYTHON_PACKAGES)],
        labels={"org.opencontainers.image.title": "cr-agent accuracy: debian-python"},
        cmd=["python3"],
        expected={"os": {"id": "debian", "version_id": "12"}, "packages": {"deb": deb["full_installed"]},
                  "note": "deb = every stanza with Status '... installed' in the final /var/lib/dpkg/status"},
        notes=["Application packages come from Debian: pip (python3-six, python3-requests and its deps under "
               "/usr/lib/python3/dist-packages), npm (/usr/share/nodejs/*/package.json, not under "
               "node_modules), maven (/usr/share/java/*.jar), gem (ruby-rack, ruby's default gems)."])


# ----------------------------------------------------------------------------------------------- rpm-image

RPM_SPECS = {
    "crtest-base": """Name: crtest-base
Version: 1.0
Release: 1.el9
Summary: cr-agent accuracy test: base files
License: MIT
Vendor: cr-agent tests
URL: https://example.invalid/crtest-base
BuildArch: noarch
%description
Base files for the rpm accuracy fixture.
%install
mkdir -p %{buildroot}/etc/crtest %{buildroot}/usr/share/crtest
echo 'setting=1' > %{buildroot}/etc/crtest/base.conf
echo 'crtest base' > %{buildroot}/usr/share/crtest/base.txt
%files
%config(noreplace) /etc/crtest/base.conf
/usr/share/crtest/base.txt
""",
    "crtest-data": """Name: crtest-data
Version: 2024.1~rc2
Release: 3.el9
Summary: cr-agent accuracy test: data with a tilde version
License: CC0
BuildArch: noarch
%description
Data files; the version has a tilde (sorts before 2024.1).
%install
mkdir -p %{buildroot}/usr/share/crtest-data
echo 'data' > %{buildroot}/usr/share/crtest-data/data.txt
%files
/usr/share/crtest-data/data.txt
""",
    "crtest-lib": """Name: crtest-lib
Epoch: 1
Version: 2.3.4
Release: 5.el9
Summary: cr-agent accuracy test: a library with an epoch and a -devel subpackage
License: ASL 2.0
BuildArch: x86_64
%global debug_package %{nil}
%description
A library.
%package devel
Summary: headers for crtest-lib
Requires: crtest-lib = %{epoch}:%{version}-%{release}
%description devel
Headers.
%install
mkdir -p %{buildroot}/usr/lib64 %{buildroot}/usr/include
echo 'not really a library' > %{buildroot}/usr/lib64/libcrtest.so.2
echo '/* crtest */' > %{buildroot}/usr/include/crtest.h
%files
/usr/lib64/libcrtest.so.2
%files devel
/usr/include/crtest.h
""",
    "crtest-tool": """Name: crtest-tool
Version: 0.9.1
Release: 2.el9
Summary: cr-agent accuracy test: a tool
License: GPLv2+
BuildArch: x86_64
Requires: crtest-lib
%global debug_package %{nil}
%description
A tool.
%install
mkdir -p %{buildroot}/usr/bin
printf '#!/bin/sh\\necho crtest-tool 0.9.1\\n' > %{buildroot}/usr/bin/crtest-tool
chmod 755 %{buildroot}/usr/bin/crtest-tool
%files
/usr/bin/crtest-tool
""",
}
RPM_LAYER1 = ["crtest-base", "crtest-data", "crtest-lib"]            # package (file) names per layer
RPM_LAYER2 = ["crtest-lib-devel", "crtest-tool"]
RPM_EXPECTED = [["crtest-base", "1.0-1.el9"], ["crtest-data", "2024.1~rc2-3.el9"],
                ["crtest-lib", "1:2.3.4-5.el9"], ["crtest-lib-devel", "1:2.3.4-5.el9"],
                ["crtest-tool", "0.9.1-2.el9"]]
ROCKY_OS_RELEASE = """NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
HOME_URL="https://rockylinux.org/"
BUG_REPORT_URL="https://bugs.rockylinux.org/"
"""


def image_rpm(key: Path, store: Store) -> dict:
    work = key / "work" / "rpm"
    if work.exists():
        shutil.rmtree(work)
    top = work / "top"
    (work / "specs").mkdir(parents=True)
    logf = work / "rpmbuild.log"
    for name, spec in RPM_SPECS.items():
        sp = work / "specs" / f"{name}.spec"
        sp.write_text(spec)
        run(["rpmbuild", "-bb", "--nodeps", "--define", f"_topdir {top}",
             "--define", "_build_id_links none", str(sp)], 120, log_to=logf)
    rpms = {}
    for p in (top / "RPMS").rglob("*.rpm"):
        n = run(["rpm", "-qp", "--qf", "%{NAME}", str(p)], 30).stdout.decode()
        rpms[n] = p
    layers = []
    l1, l2 = work / "l1", work / "l2"
    # Layer 1: the distro identity, files of the first packages, and the rpm db holding them.
    (l1 / "etc").mkdir(parents=True)
    (l1 / "usr/lib").mkdir(parents=True)
    (l1 / "usr/lib/os-release").write_text(ROCKY_OS_RELEASE)
    os.symlink("../usr/lib/os-release", l1 / "etc/os-release")
    (l1 / "etc/rocky-release").write_text("Rocky Linux release 9.3 (Blue Onyx)\n")
    os.symlink("rocky-release", l1 / "etc/redhat-release")
    os.symlink("rocky-release", l1 / "etc/system-release")
    (l1 / "tmp").mkdir()
    dbroot = work / "dbroot"  # the db is written here, then copied into each layer as it is at that point
    dbroot.mkdir()

    def install(names: list[str], layer: Path) -> None:
        for n in names:
            # files: the payload, as rpm would lay it out
            arch = run(["rpm2archive", "-"], 60, input=rpms[n].read_bytes()).stdout
            with tarfile.open(fileobj=io.BytesIO(arch), mode="r:gz") as tf:
                tf.extractall(layer, filter="tar")
        run(["rpm", "--root", str(dbroot), "--dbpath", "/var/lib/rpm", "--justdb", "--nodeps", "--noscripts",
             "-i", *[str(rpms[n]) for n in names]], 120, log_to=logf)
        dst = layer / "var/lib/rpm"
        dst.mkdir(parents=True, exist_ok=True)
        for f in (dbroot / "var/lib/rpm").iterdir():
            shutil.copy2(f, dst / f.name)

    install(RPM_LAYER1, l1)
    layers.append(layer_of_dir(store, l1, "rpm -i --justdb " + " ".join(RPM_LAYER1)))
    l2.mkdir()
    install(RPM_LAYER2, l2)
    layers.append(layer_of_dir(store, l2, "rpm -i --justdb " + " ".join(RPM_LAYER2)))
    got = run(["rpm", "--root", str(dbroot), "--dbpath", "/var/lib/rpm", "-qa", "--qf",
               "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n"], 30).stdout.decode().split("\n")
    got = sorted([l.split(" ", 1) for l in got if l.strip()])
    if got != RPM_EXPECTED:
        raise BuildError(f"rpm db holds {got}, expected {RPM_EXPECTED}")
    db_files = sorted(f.name for f in (dbroot / "var/lib/rpm").iterdir())
    shutil.rmtree(work)
    return make_image(
        store, "rpm-image", layers,
        ["COPY rootfs / # os-release, rpm -i --justdb " + " ".join(RPM_LAYER1),
         "RUN rpm -i --justdb " + " ".join(RPM_LAYER2)],
        labels={"org.opencontainers.image.title": "cr-agent accuracy: rpm-image"},
        expected={"os": {"id": "rocky", "version_id": "9.3"}, "packages": {"rpm": RPM_EXPECTED},
                  "rpmdb": "/var/lib/rpm/rpmdb.sqlite (sqlite backend, Debian rpm 4.18)",
                  "rpmdb_files": db_files,
                  "note": "version = [epoch:]version-release; layer 2 replaces the whole rpmdb.sqlite"},
        notes=["Built with Debian's rpmbuild from the spec files in build_fixtures.py; installed with "
               "rpm --root R --dbpath /var/lib/rpm --justdb --nodeps --noscripts -i, payload files extracted "
               "with rpm2archive. /etc/os-release claims Rocky Linux 9.3: a RHEL 9 rebuild, whose real images "
               "keep the sqlite rpmdb at /var/lib/rpm like this one."])


# ----------------------------------------------------------------------------------------------- apk-image

def apk_q1(data: bytes) -> str:
    import base64
    return "Q1" + base64.b64encode(hashlib.sha1(data).digest()).decode()


# (name, version, origin, license, description, url, deps, provides, files {path: content | ("->", target)})
APK_BASE = [
    ("alpine-baselayout-data", "3.4.3-r2", "alpine-baselayout", "GPL-2.0-only", "Alpine base dir structure and init scripts", "https://git.alpinelinux.org/cgit/aports/tree/main/alpine-baselayout", "", "",
     {"etc/fstab": b"/dev/cdrom\t/media/cdrom\tiso9660\tnoauto,ro 0 0\n", "etc/group": b"root:x:0:root\n",
      "etc/passwd": b"root:x:0:0:root:/root:/bin/sh\n", "etc/shells": b"/bin/sh\n"}),
    ("alpine-baselayout", "3.4.3-r2", "alpine-baselayout", "GPL-2.0-only", "Alpine base dir structure and init scripts", "https://git.alpinelinux.org/cgit/aports/tree/main/alpine-baselayout", "alpine-baselayout-data=3.4.3-r2 /bin/sh", "",
     {"etc/profile": b"export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"}),
    ("alpine-keys", "2.4-r1", "alpine-keys", "MIT", "Public keys for Alpine Linux packages", "https://alpinelinux.org", "", "",
     {"etc/apk/keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub": b"-----BEGIN PUBLIC KEY-----\nplaceholder\n-----END PUBLIC KEY-----\n"}),
    ("apk-tools", "2.14.0-r5", "apk-tools", "GPL-2.0-only", "Alpine Package Keeper - package manager for alpine", "https://gitlab.alpinelinux.org/alpine/apk-tools", "musl>=1.2.3_git20230424 ca-certificates-bundle so:libc.musl-x86_64.so.1 so:libcrypto.so.3 so:libssl.so.3 so:libz.so.1", "so:libapk.so.2.14.0=2.14.0 cmd:apk=2.14.0-r5",
     {"sbin/apk": b"placeholder: apk (no Alpine binaries here)\n", "lib/libapk.so.2.14.0": b"placeholder\n"}),
    ("busybox", "1.36.1-r15", "busybox", "GPL-2.0-only", "Size optimized toolbox of many common UNIX utilities", "https://busybox.net/", "so:libc.musl-x86_64.so.1", "cmd:busybox=1.36.1-r15",
     {"bin/busybox": b"placeholder: busybox (no Alpine binaries here)\n"}),
    ("busybox-binsh", "1.36.1-r15", "busybox", "GPL-2.0-only", "busybox ash /bin/sh", "https://busybox.net/", "busybox=1.36.1-r15", "/bin/sh cmd:sh=1.36.1-r15",
     {"bin/sh": ("->", "/bin/busybox")}),
    ("ca-certificates-bundle", "20230506-r0", "ca-certificates", "MPL-2.0 AND MIT", "Pre generated bundle of Mozilla certificates", "https://www.mozilla.org/en-US/about/governance/policies/security-group/certs/", "", "ca-certificates-cacert=20230506-r0",
     {"etc/ssl/certs/ca-certificates.crt": b"# placeholder bundle\n"}),
    ("libc-utils", "0.7.2-r5", "libc-dev", "BSD-2-Clause AND BSD-3-Clause", "Meta package to pull in correct libc", "https://alpinelinux.org", "musl-utils", "", {}),
    ("libcrypto3", "3.1.4-r2", "openssl", "Apache-2.0", "Crypto library from openssl", "https://www.openssl.org/", "so:libc.musl-x86_64.so.1", "so:libcrypto.so.3=3",
     {"lib/libcrypto.so.3": b"placeholder: libcrypto\n"}),
    ("libssl3", "3.1.4-r2", "openssl", "Apache-2.0", "SSL shared libraries", "https://www.openssl.org/", "so:libc.musl-x86_64.so.1 so:libcrypto.so.3", "so:libssl.so.3=3",
     {"lib/libssl.so.3": b"placeholder: libssl\n"}),
    ("musl", "1.2.4_git20230717-r4", "musl", "MIT", "the musl c library (libc) implementation", "https://musl.libc.org/", "", "so:libc.musl-x86_64.so.1=1",
     {"lib/ld-musl-x86_64.so.1": b"placeholder: musl dynamic loader\n", "lib/libc.musl-x86_64.so.1": ("->", "ld-musl-x86_64.so.1")}),
    ("musl-utils", "1.2.4_git20230717-r4", "musl", "MIT AND BSD-2-Clause AND GPL-2.0-or-later", "the musl c library (libc) implementation", "https://musl.libc.org/", "scanelf so:libc.musl-x86_64.so.1", "cmd:getconf=1.2.4_git20230717-r4 cmd:ldd=1.2.4_git20230717-r4",
     {"usr/bin/getconf": b"placeholder\n", "usr/bin/ldd": b"#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list \"$@\"\n"}),
    ("scanelf", "1.3.7-r2", "pax-utils", "GPL-2.0-only", "Scan ELF binaries for stuff", "https://wiki.gentoo.org/wiki/Hardened/PaX_Utilities", "so:libc.musl-x86_64.so.1", "cmd:scanelf=1.3.7-r2",
     {"usr/bin/scanelf": b"placeholder\n"}),
    ("ssl_client", "1.36.1-r15", "busybox", "GPL-2.0-only", "EXternal ssl_client for busybox wget", "https://busybox.net/", "so:libc.musl-x86_64.so.1 so:libcrypto.so.3 so:libssl.so.3", "cmd:ssl_client=1.36.1-r15",
     {"usr/bin/ssl_client": b"placeholder\n"}),
    ("zlib", "1.3-r2", "zlib", "Zlib", "A compression/decompression Library", "https://zlib.net/", "so:libc.musl-x86_64.so.1", "so:libz.so.1=1.3",
     {"lib/libz.so.1.3": b"placeholder: zlib\n", "lib/libz.so.1": ("->", "libz.so.1.3")}),
]
APK_ADDED = [  # layer 2: `apk add curl` (brings libcurl and nghttp2-libs), `apk del ssl_client`
    ("curl", "8.5.0-r0", "curl", "curl", "URL retrival utility and library", "https://curl.se/", "ca-certificates so:libc.musl-x86_64.so.1 so:libcurl.so.4 so:libz.so.1", "cmd:curl=8.5.0-r0",
     {"usr/bin/curl": b"placeholder: curl\n"}),
    ("libcurl", "8.5.0-r0", "curl", "curl", "The multiprotocol file transfer library", "https://curl.se/", "ca-certificates so:libc.musl-x86_64.so.1 so:libcrypto.so.3 so:libnghttp2.so.14 so:libssl.so.3 so:libz.so.1", "so:libcurl.so.4=4.8.0",
     {"usr/lib/libcurl.so.4.8.0": b"placeholder: libcurl\n", "usr/lib/libcurl.so.4": ("->", "libcurl.so.4.8.0")}),
    ("nghttp2-libs", "1.58.0-r0", "nghttp2", "MIT", "Experimental HTTP/2 client, server and proxy (libraries)", "https://nghttp2.org", "so:libc.musl-x86_64.so.1", "so:libnghttp2.so.14=14.25.1",
     {"usr/lib/libnghttp2.so.14.25.1": b"placeholder: nghttp2\n", "usr/lib/libnghttp2.so.14": ("->", "libnghttp2.so.14.25.1")}),
]
APK_REMOVED = "ssl_client"
ALPINE_OS_RELEASE = """NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.0
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
"""


def apk_write_files(root: Path, files: dict) -> None:
    for path, content in files.items():
        p = root / path
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple):
            os.symlink(content[1], p)
        else:
            p.write_bytes(content)
            if "/bin/" in "/" + path or path.startswith(("bin/", "sbin/")):
                p.chmod(0o755)


def apk_stanza(pkg: tuple) -> str:
    name, ver, origin, lic, desc, url, deps, provides, files = pkg
    size = sum(len(c) if isinstance(c, bytes) else len(c[1]) for c in files.values())
    ctrl_id = hashlib.sha1(f"{name}-{ver}".encode()).digest()
    import base64
    lines = [f"C:Q1{base64.b64encode(ctrl_id).decode()}", f"P:{name}", f"V:{ver}", "A:x86_64",
             f"S:{size + 4096}", f"I:{max(size, 4096)}", f"T:{desc}", f"U:{url}", f"L:{lic}", f"o:{origin}",
             "m:Natanael Copa <ncopa@alpinelinux.org>", f"t:{FIXED_MTIME}",
             f"c:{hashlib.sha1(origin.encode()).hexdigest()}"]
    if deps:
        lines.append(f"D:{deps}")
    if provides:
        lines.append(f"p:{provides}")
    by_dir: dict[str, list[tuple[str, Any]]] = {}
    for path, content in sorted(files.items()):
        d, _, f = path.rpartition("/")
        by_dir.setdefault(d, []).append((f, content))
    for d, entries in by_dir.items():
        lines.append(f"F:{d}")
        for f, content in entries:
            lines.append(f"R:{f}")
            if isinstance(content, tuple):
                lines += ["a:0:0:777", f"Z:{apk_q1(content[1].encode())}"]
            else:
                mode = "755" if d.endswith("bin") else "644"
                if mode != "644":
                    lines.append(f"a:0:0:{mode}")
                lines.append(f"Z:{apk_q1(content)}")
    return "\n".join(lines) + "\n"


def image_apk(key: Path, store: Store) -> dict:
    work = key / "work" / "apk"
    if work.exists():
        shutil.rmtree(work)
    l1, l2 = work / "l1", work / "l2"
    for d in ["bin", "sbin", "etc/apk", "lib/apk/db", "usr/bin", "usr/lib", "var/cache/apk", "tmp", "root"]:
        (l1 / d).mkdir(parents=True, exist_ok=True)
    (l1 / "usr/lib/os-release").write_text(ALPINE_OS_RELEASE)
    os.symlink("../usr/lib/os-release", l1 / "etc/os-release")
    (l1 / "etc/alpine-release").write_text("3.19.0\n")
    (l1 / "etc/apk/arch").write_text("x86_64\n")
    (l1 / "etc/apk/repositories").write_text("https://dl-cdn.alpinelinux.org/alpine/v3.19/main\n"
                                              "https://dl-cdn.alpinelinux.org/alpine/v3.19/community\n")
    for pkg in APK_BASE:
        apk_write_files(l1, pkg[8])
    (l1 / "lib/apk/db/installed").write_text("".join(apk_stanza(p) + "\n" for p in APK_BASE))
    (l1 / "lib/apk/db/triggers").write_text("")
    (l1 / "lib/apk/db/lock").write_text("")
    (l1 / "etc/apk/world").write_text("alpine-baselayout\nalpine-keys\napk-tools\nbusybox\nlibc-utils\n"
                                      "ssl_client\n")
    layers = [layer_of_dir(store, l1, "alpine 3.19.0 minirootfs (modelled; placeholder file contents)")]
    for d in ["lib/apk/db", "etc/apk", "usr/bin"]:
        (l2 / d).mkdir(parents=True, exist_ok=True)
    for pkg in APK_ADDED:
        apk_write_files(l2, pkg[8])
    final = [p for p in APK_BASE if p[0] != APK_REMOVED] + APK_ADDED
    final.sort(key=lambda p: p[0])
    (l2 / "lib/apk/db/installed").write_text("".join(apk_stanza(p) + "\n" for p in final))
    (l2 / "etc/apk/world").write_text("alpine-baselayout\nalpine-keys\napk-tools\nbusybox\ncurl\nlibc-utils\n")
    (l2 / "usr/bin" / f".wh.{APK_REMOVED}").write_bytes(b"")  # apk del ssl_client
    layers.append(layer_of_dir(store, l2, "apk add curl && apk del ssl_client"))
    shutil.rmtree(work)
    return make_image(
        store, "apk-image", layers,
        ["ADD alpine-minirootfs-3.19.0-x86_64.tar.gz / # modelled", "RUN apk add curl && apk del ssl_client"],
        labels={"org.opencontainers.image.title": "cr-agent accuracy: apk-image"},
        expected={"os": {"id": "alpine", "version_id": "3.19.0"},
                  "packages": {"apk": sorted([p[0], p[1]] for p in final)},
                  "absent": {"apk": [APK_REMOVED]},
                  "note": "layer 2 rewrites /lib/apk/db/installed: +curl +libcurl +nghttp2-libs, -ssl_client"},
        notes=["No apk tooling or Alpine binaries on this machine: /lib/apk/db/installed is written by "
               "build_fixtures.py in apk's format (C/P/V/A/S/I/T/U/L/o/m/t/c/D/p, F/R/a/Z per file, Z = Q1 + "
               "base64 sha1 of the file written), modelled on alpine:3.19.0's package set; files are "
               "placeholders. /etc/os-release is a symlink to ../usr/lib/os-release."])


# ----------------------------------------------------------------------------------------------- layered-deb

def build_deb(work: Path, name: str, version: str, files: dict[str, bytes], conffiles: list[str] = (),
              description: str = "") -> Path:
    d = work / f"{name}_{version}"
    (d / "DEBIAN").mkdir(parents=True)
    for path, content in files.items():
        p = d / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content)
        p.chmod(0o755 if "/bin/" in "/" + path else 0o644)
    size_kb = max(1, sum(len(c) for c in files.values()) // 1024)
    (d / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: cr-agent tests <tests@example.invalid>\n"
        f"Installed-Size: {size_kb}\nSection: misc\nPriority: optional\n"
        f"Description: {description or 'cr-agent accuracy test package'}\n This package exists only in test images.\n")
    if conffiles:
        (d / "DEBIAN/conffiles").write_text("".join(f"/{c}\n" for c in conffiles))
    out = work / f"{name}_{version}_all.deb"
    run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(d), str(out)], 60)
    return out


def install_deb_by_hand(deb: Path, layer: Path, work: Path) -> tuple[str, Path]:
    """dpkg-deb -x into the layer, info/<pkg>.list and .md5sums (and .conffiles); returns its status stanza."""
    name = run(["dpkg-deb", "-f", str(deb), "Package"], 30).stdout.decode().strip()
    tree = work / f"x-{deb.stem}"
    run(["dpkg-deb", "-x", str(deb), str(tree)], 60)
    run(["dpkg-deb", "-x", str(deb), str(layer)], 60)
    info = layer / "var/lib/dpkg/info"
    info.mkdir(parents=True, exist_ok=True)
    (info / f"{name}.list").write_text("\n".join(dpkg_list_of(tree)) + "\n")
    (info / f"{name}.md5sums").write_text(md5sums_of(tree))
    stanza = deb_stanza_from_control(deb, "install ok installed")
    cf = run(["dpkg-deb", "-I", str(deb), "conffiles"], 30, ) if _has_member(deb, "conffiles") else None
    if cf is not None:
        conf = [l for l in cf.stdout.decode().split("\n") if l.strip()]
        (info / f"{name}.conffiles").write_text("\n".join(conf) + "\n")
        stanza = stanza.rstrip("\n") + "\nConffiles:\n" + "".join(
            f" {c} {hashlib.md5((tree / c.lstrip('/')).read_bytes()).hexdigest()}\n" for c in conf)
    return stanza, tree


def _has_member(deb: Path, member: str) -> bool:
    out = run(["dpkg-deb", "-I", str(deb)], 30).stdout.decode()
    return f" {member}" in out


def image_layered_deb(key: Path, store: Store, deb: dict) -> dict:
    work = key / "work" / "layered"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    base_status = (key / "stages" / "debian-base.status").read_text()
    up1 = build_deb(work, "crtest-upgrade", "1.0", {
        "usr/bin/crtest-upgrade": b"#!/bin/sh\necho crtest-upgrade 1.0\n",
        "usr/share/crtest-upgrade/VERSION": b"1.0\n",
        "usr/share/crtest-upgrade/only-in-1.0.txt": b"gone after the upgrade (opaque directory in layer 3)\n",
        "usr/share/doc/crtest-upgrade/copyright": b"Public domain.\n"}, description="upgraded in layer 3")
    up2 = build_deb(work, "crtest-upgrade", "2.0", {
        "usr/bin/crtest-upgrade": b"#!/bin/sh\necho crtest-upgrade 2.0\n",
        "usr/share/crtest-upgrade/VERSION": b"2.0\n",
        "usr/share/crtest-upgrade/new-in-2.0.txt": b"new in 2.0\n",
        "usr/share/doc/crtest-upgrade/copyright": b"Public domain.\n"}, description="upgraded in layer 3")
    rm1 = build_deb(work, "crtest-removed", "1.0", {
        "usr/bin/crtest-removed": b"#!/bin/sh\necho crtest-removed\n",
        "usr/share/crtest-removed/data.txt": b"removed in layer 3\n",
        "usr/share/doc/crtest-removed/copyright": b"Public domain.\n"}, description="removed in layer 3")
    cf1 = build_deb(work, "crtest-conffiles", "1.0", {
        "etc/crtest-conffiles.conf": b"option = 1\n",
        "usr/bin/crtest-conffiles": b"#!/bin/sh\necho crtest-conffiles\n",
        "usr/share/doc/crtest-conffiles/copyright": b"Public domain.\n"},
        conffiles=["etc/crtest-conffiles.conf"], description="removed (not purged) in layer 3: config-files")
    # Layer 2: the three 1.0 packages, written by hand, stanzas appended to the base status.
    l2 = work / "l2"
    stanzas = {}
    for d in (up1, rm1, cf1):
        st, _ = install_deb_by_hand(d, l2, work)
        stanzas[st.split("\n", 1)[0].split(": ", 1)[1]] = st
    status2 = base_status.rstrip("\n") + "\n\n" + "\n".join(stanzas.values())
    (l2 / "var/lib/dpkg/status").write_text(status2.rstrip("\n") + "\n\n")
    layer2 = layer_of_dir(store, l2, "dpkg-deb -x + status: crtest-upgrade 1.0, crtest-removed 1.0, "
                                     "crtest-conffiles 1.0")
    # Layer 3: remove crtest-removed (whiteouts), crtest-conffiles -> config-files, crtest-upgrade -> 2.0
    # (its data dir opaque), and a whole new status file.
    l3 = work / "l3"
    st_up2, _ = install_deb_by_hand(up2, l3, work)
    (l3 / "usr/share/crtest-upgrade" / OPQ).write_bytes(b"")
    info = l3 / "var/lib/dpkg/info"
    for wh in ["usr/bin/.wh.crtest-removed", "usr/share/.wh.crtest-removed", "usr/share/doc/.wh.crtest-removed",
               "var/lib/dpkg/info/.wh.crtest-removed.list", "var/lib/dpkg/info/.wh.crtest-removed.md5sums",
               "usr/bin/.wh.crtest-conffiles", "usr/share/doc/.wh.crtest-conffiles",
               "var/lib/dpkg/info/.wh.crtest-conffiles.md5sums"]:
        (l3 / wh).parent.mkdir(parents=True, exist_ok=True)
        (l3 / wh).write_bytes(b"")
    (info / "crtest-conffiles.list").write_text("/etc\n/etc/crtest-conffiles.conf\n")
    cf_stanza = stanzas["crtest-conffiles"].replace("Status: install ok installed", "Status: deinstall ok config-files")
    final = [s for s in parse_blocks(base_status)] + [st_up2, cf_stanza]
    (l3 / "var/lib/dpkg/status").write_text(sort_status(final))
    layer3 = layer_of_dir(store, l3, "rm crtest-removed; dpkg -r crtest-conffiles; crtest-upgrade 2.0")
    expected_installed = sorted(installed_debs(base_status) + [["crtest-upgrade", "2.0"]])
    final_status = sort_status(final)
    if installed_debs(final_status) != expected_installed:
        raise BuildError("layered-deb: final status does not hold what is expected")
    debs = {d.name: {"sha256": hashlib.sha256(d.read_bytes()).hexdigest(), "size": d.stat().st_size}
            for d in (up1, up2, rm1, cf1)}
    shutil.rmtree(work)
    return make_image(
        store, "layered-deb", [deb["layer1"], layer2, layer3],
        [f"mmdebstrap --variant=minbase {SUITE} /",
         "COPY crtest-upgrade 1.0, crtest-removed 1.0, crtest-conffiles 1.0 (files + status stanzas)",
         "RUN remove crtest-removed, crtest-conffiles (config-files), upgrade crtest-upgrade to 2.0"],
        docker=True, labels={"org.opencontainers.image.title": "cr-agent accuracy: layered-deb"},
        expected={"os": {"id": "debian", "version_id": "12"}, "packages": {"deb": expected_installed},
                  "present": {"deb": [["crtest-upgrade", "2.0"]]},
                  "absent": {"deb": ["crtest-removed", "crtest-conffiles"]},
                  "config_files_only": {"deb": [["crtest-conffiles", "1.0"]]},
                  "files_absent": ["/usr/share/crtest-upgrade/only-in-1.0.txt", "/usr/bin/crtest-removed",
                                   "/usr/share/crtest-removed", "/usr/share/crtest-removed/data.txt",
                                   "/usr/bin/crtest-conffiles", "/var/lib/dpkg/info/crtest-removed.list"],
                  "files_present": {"/usr/share/crtest-upgrade/VERSION": "2.0\n",
                                    "/usr/share/crtest-upgrade/new-in-2.0.txt": None,
                                    "/usr/bin/crtest-upgrade": "#!/bin/sh\necho crtest-upgrade 2.0\n",
                                    "/etc/crtest-conffiles.conf": None},
                  "note": "crtest-upgrade at 2.0 (not 1.0), crtest-removed gone, crtest-conffiles left in "
                          "'deinstall ok config-files' (not installed: a scanner lists only installed)"},
        notes=["Docker v2 schema2 media types (the other images are OCI).",
               "Layer 3: whiteouts for crtest-removed's files and dirs, an opaque /usr/share/crtest-upgrade "
               "(the .wh..wh..opq entry comes after the directory's other entries), a whole new "
               "/var/lib/dpkg/status.", f".debs built with dpkg-deb --build: {json.dumps(debs)}"])


def parse_blocks(status_text: str) -> list[str]:
    return [b.strip("\n") for b in status_text.split("\n\n") if b.strip()]


# ----------------------------------------------------------------------------------------------- big

NPM_COUNT, NPM_SCOPED, NPM_NESTED, PY_COUNT = 400, 40, 60, 150


def _js_body(rng: random.Random, name: str, n: int) -> bytes:
    words = ["const", "function", "return", "module", "exports", "value", "options", "callback", "buffer",
             "length", "index", "result", "error", "promise", "resolve", "reject", "config", "cache"]
    lines = [f"'use strict';\n// {name}: generated for the cr-agent benchmark image\n"]
    while sum(len(l) for l in lines) < n:
        a, b, c = rng.choice(words), rng.choice(words), rng.choice(words)
        lines.append(f"function {a}_{len(lines)}({b}, {c}) {{ return {b} && {c}.{a}({rng.randint(0, 999)}); }}\n")
    lines.append(f"module.exports = {{ name: '{name}' }};\n")
    return "".join(lines).encode()


def big_app_layer(root: Path) -> dict:
    """node_modules (flat, scoped, nested), a venv's site-packages, and compressible logs."""
    rng = random.Random(20240601)
    app = root / "opt/app"
    nm = app / "node_modules"
    npm: list[list[str]] = []
    deps = {}

    def npm_pkg(dirp: Path, name: str, version: str, size: int) -> None:
        dirp.mkdir(parents=True, exist_ok=True)
        (dirp / "package.json").write_text(json.dumps(
            {"name": name, "version": version, "description": f"{name} (benchmark filler)", "main": "index.js",
             "license": "MIT", "repository": {"type": "git", "url": f"https://example.invalid/{name}.git"}},
            indent=2) + "\n")
        (dirp / "index.js").write_bytes(_js_body(rng, name, size))
        (dirp / "README.md").write_text(f"# {name}\n\nVersion {version}.\n" + "Lorem ipsum dolor sit amet. " * 20)
        npm.append([name, version])

    for i in range(NPM_COUNT):
        name, ver = f"crbench-pkg-{i:03d}", f"{i % 7}.{i % 13}.{i % 5}"
        npm_pkg(nm / name, name, ver, rng.randint(2000, 40000))
        deps[name] = f"^{ver}"
    for i in range(NPM_SCOPED):
        name, ver = f"@crbench/scoped-{i:02d}", f"1.{i}.0"
        npm_pkg(nm / "@crbench" / f"scoped-{i:02d}", name, ver, rng.randint(2000, 20000))
        deps[name] = ver
    for i in range(NPM_NESTED):  # a second version of a flat package, nested under another one
        parent = f"crbench-pkg-{(i * 7) % NPM_COUNT:03d}"
        name, ver = f"crbench-pkg-{(i * 13 + 1) % NPM_COUNT:03d}", f"9.{i}.0"
        npm_pkg(nm / parent / "node_modules" / name, name, ver, rng.randint(2000, 10000))
    (app / "package.json").write_text(json.dumps({"name": "crbench-app", "version": "1.0.0", "private": True,
                                                  "dependencies": deps}, indent=2) + "\n")
    sp = root / "opt/venv/lib/python3.11/site-packages"
    pip: list[list[str]] = []
    for i in range(PY_COUNT):
        name, ver = f"crbench_py_{i:03d}", f"{1 + i % 4}.{i % 10}.{i % 3}"
        di = sp / f"{name}-{ver}.dist-info"
        di.mkdir(parents=True)
        (di / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {ver}\n"
                                     f"Summary: benchmark filler\nLicense: MIT\n\n")
        (di / "INSTALLER").write_text("pip\n")
        (di / "WHEEL").write_text("Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        mod = sp / name
        mod.mkdir()
        body = _js_body(rng, name, rng.randint(1000, 20000)).replace(b"function", b"def").replace(b"{", b"(")
        (mod / "__init__.py").write_bytes(b'"""generated"""\n' + b"# " + body.replace(b"\n", b"\n# "))
        (di / "RECORD").write_text(f"{name}/__init__.py,,\n{name}-{ver}.dist-info/METADATA,,\n")
        pip.append([name.replace("_", "-"), ver])
    logs = root / "var/log/app"
    logs.mkdir(parents=True)
    levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]
    for f in range(8):  # ~12 MiB each of log lines: compressible, not trivially
        with open(logs / f"app-{f}.log", "w") as out:
            n = 0
            while n < 12 << 20:
                line = (f"2024-06-01T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z "
                        f"{rng.choice(levels)} req={rng.getrandbits(48):012x} path=/api/v1/items/{rng.randint(1, 99999)} "
                        f"status={rng.choice([200, 200, 200, 201, 304, 404, 500])} ms={rng.randint(1, 900)}\n")
                out.write(line)
                n += len(line)
    return {"npm": sorted(npm), "pip": sorted(pip)}


def big_assets_layer(root: Path, total: int) -> None:
    """Incompressible files of assorted sizes (images, archives, models in a real app)."""
    rng = random.Random(4242)
    d = root / "opt/app/assets"
    d.mkdir(parents=True)
    left, i = total, 0
    while left > 0:
        n = min(left, rng.choice([64 << 10, 512 << 10, 2 << 20, 8 << 20, 24 << 20]))
        (d / f"asset-{i:04d}.bin").write_bytes(rng.randbytes(n))
        left -= n
        i += 1


def image_big(key: Path, store: Store, deb: dict) -> dict:
    work = key / "work" / "big"
    if work.exists():
        shutil.rmtree(work)
    dl = work / "debs"
    dl.mkdir(parents=True)
    os.chmod(dl, 0o755)  # apt drops root to _apt for downloads: let it write here
    log(f"apt-get download {' '.join(BIG_DEBS)}")
    try:
        run(["apt-get", "download", *BIG_DEBS], 600, cwd=dl)
    except BuildError as e:
        raise BuildError(f"apt-get download failed (run apt-get update first if apt has no lists): {e}") from None
    base_status = (key / "stages" / "debian-base.status").read_text()
    l2 = work / "l2"
    stanzas = []
    jdk_debs = []
    for d in sorted(dl.glob("*.deb")):
        st, _ = install_deb_by_hand(d, l2, work)
        stanzas.append(st)
        f = parse_dpkg_status(st)[0]
        jdk_debs.append([f["Package"], f["Version"]])
    (l2 / "var/lib/dpkg/status").write_text(sort_status(parse_blocks(base_status) + stanzas))
    layers = [deb["layer1"]]
    log("big: JDK layer")
    layers.append(layer_of_dir(store, l2, "dpkg-deb -x " + " ".join(BIG_DEBS) + " + status"))
    shutil.rmtree(l2)
    log("big: app layer")
    l3 = work / "l3"
    app = big_app_layer(l3)
    layers.append(layer_of_dir(store, l3, "COPY app (node_modules, site-packages, logs)"))
    shutil.rmtree(l3)
    log("big: assets layer")
    l4 = work / "l4"
    big_assets_layer(l4, 150 << 20)
    layers.append(layer_of_dir(store, l4, "COPY assets (incompressible)"))
    shutil.rmtree(work)
    installed = sorted(installed_debs(base_status) + jdk_debs)
    return make_image(
        store, "big", layers,
        [f"mmdebstrap --variant=minbase {SUITE} /", "RUN apt-get install " + " ".join(BIG_DEBS),
         "COPY app /opt/app", "COPY assets /opt/app/assets"],
        labels={"org.opencontainers.image.title": "cr-agent accuracy: big (benchmarks)"},
        expected={"os": {"id": "debian", "version_id": "12"},
                  "packages": {"deb": installed, "npm": app["npm"], "pip": app["pip"]},
                  "note": "npm: every node_modules/**/package.json (flat, scoped, nested second versions); "
                          "/opt/app/package.json is the app itself (crbench-app, not a dependency)"},
        notes=["For benchmarks: ~350 MB compressed. OpenJDK .debs downloaded with apt-get download, "
               "extracted with dpkg-deb -x, stanzas added to the status file (their dependencies are not "
               "installed: a scanner reads the status file, it does not resolve dependencies)."])


# ----------------------------------------------------------------------------------------------- outputs

def write_oci_layout(key: Path, store: Store, img: dict) -> Path:
    d = key / "oci" / img["name"]
    if d.exists():
        shutil.rmtree(d)
    (d / "blobs" / "sha256").mkdir(parents=True)
    (d / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    m_digest, m_size, m_type = img["manifest_digest"], img["manifest_size"], img["mediaType"]
    if m_type == fx.MT_DOCKER_MANIFEST:
        # An OCI layout holds OCI manifests (skopeo's oci: transport refuses others): convert, as
        # `skopeo copy docker://... oci:` does. Same config and layer blobs, another manifest digest.
        m = json.loads(store.path(m_digest).read_bytes())
        m["mediaType"] = fx.MT_OCI_MANIFEST
        m["config"]["mediaType"] = fx.MT_OCI_CONFIG
        for l in m["layers"]:
            l["mediaType"] = fx.MT_OCI_LAYER_GZIP
        rec = store.put_bytes(fx.jbytes(m))
        m_digest, m_size, m_type = rec["digest"], rec["size"], fx.MT_OCI_MANIFEST
    img["oci_manifest_digest"] = m_digest
    digests = [m_digest, img["config_digest"]] + [l["digest"] for l in img["layers"]]
    for dg in digests:
        dst = d / "blobs" / "sha256" / dg[7:]
        if not dst.exists():
            os.link(store.path(dg), dst)
    idx = {"schemaVersion": 2, "mediaType": fx.MT_OCI_INDEX,
           "manifests": [{"mediaType": m_type, "digest": m_digest, "size": m_size,
                          "annotations": {"org.opencontainers.image.ref.name": TAG}}]}
    (d / "index.json").write_text(json.dumps(idx, indent=1) + "\n")
    return d


def write_docker_archive(key: Path, store: Store, img: dict) -> Path:
    """`docker save` layout: manifest.json, <config hex>.json, <diff_id hex>/layer.tar (uncompressed), repositories."""
    out = key / "archives" / f"{img['name']}.tar"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tar.tmp")
    cfg_hex = img["config_digest"][7:]
    layer_paths = [f"{l['diff_id'][7:]}/layer.tar" for l in img["layers"]]
    repo_tag = f"{img['repository']}:{img['tag']}"
    manifest = [{"Config": f"{cfg_hex}.json", "RepoTags": [repo_tag], "Layers": layer_paths}]

    def add_bytes(tf, name, data: bytes):
        ti = tarfile.TarInfo(name)
        ti.size, ti.mtime, ti.mode = len(data), FIXED_MTIME, 0o644
        tf.addfile(ti, io.BytesIO(data))

    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tf:
        seen = set()
        for l, p in zip(img["layers"], layer_paths):
            if p in seen:
                continue
            seen.add(p)
            ti = tarfile.TarInfo(p.split("/")[0])
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, FIXED_MTIME
            tf.addfile(ti)
            ti = tarfile.TarInfo(p)
            ti.size, ti.mtime, ti.mode = l["uncompressed_size"], FIXED_MTIME, 0o644
            with gzip.open(store.path(l["digest"]), "rb") as g:
                tf.addfile(ti, g)
        add_bytes(tf, f"{cfg_hex}.json", store.path(img["config_digest"]).read_bytes())
        add_bytes(tf, "manifest.json", json.dumps(manifest).encode())
        add_bytes(tf, "repositories", json.dumps(
            {img["repository"]: {img["tag"]: layer_paths[-1].split("/")[0]}}).encode())
    os.replace(tmp, out)
    return out


# ----------------------------------------------------------------------------------------------- registry

def registry_up(key: Path, max_lifetime: float) -> dict:
    d = key / "registry"
    info_p, pid_p = d / "fixture.json", d / "fixture.pid"
    if info_p.exists() and pid_p.exists():
        info = json.loads(info_p.read_text())
        pid = int(pid_p.read_text().strip())
        if fx.pid_alive(pid) and "fixture.py" in fx.pid_cmdline(pid) and fx.pid_alive(info["registry_pid"]):
            try:
                import httpx
                if httpx.get(info["url"] + "/v2/", timeout=3).status_code == 200:
                    info["reused"] = True
                    return info
            except Exception:
                pass
        run([sys.executable, str(REPO / "Tests/registry/fixture.py"), "stop", "--dir", str(d)], 30)
    p = run([sys.executable, str(REPO / "Tests/registry/fixture.py"), "start", "--auth", "none", "--dir", str(d),
             "--detach", "--max-lifetime", str(max_lifetime)], 60)
    info = json.loads(p.stdout.decode())
    info["reused"] = False
    return info


def push_image(client: "fx.RegistryClient", store: Store, img: dict, pushed: dict[str, str]) -> dict:
    """Blobs already in the repository (HEAD) are skipped, blobs pushed to another repository are mounted
    from it (the harness's mount_blob), the rest go up with its upload_blob; then the manifest."""
    repo = img["repository"]
    up = skipped = mounted = 0
    for dg in [img["config_digest"]] + [l["digest"] for l in img["layers"]]:
        r = client.request("HEAD", f"/v2/{repo}/blobs/{dg}")
        if r.status_code == 200:
            skipped += 1
        elif dg in pushed and pushed[dg] != repo and client.mount_blob(repo, dg, pushed[dg]) == 201:
            mounted += 1
        else:
            client.upload_blob(repo, store.path(dg).read_bytes(), dg)
            up += 1
        pushed.setdefault(dg, repo)
    client.put_manifest(repo, img["tag"], store.path(img["manifest_digest"]).read_bytes(), img["mediaType"])
    return {"uploaded": up, "mounted": mounted, "already_there": skipped}


# ----------------------------------------------------------------------------------------------- verify

def merged_fs(store: Store, img: dict, keep_content_below: int = 1 << 20) -> dict[str, tuple]:
    """The image's filesystem after applying its layers by the OCI rules (an independent check of what the
    builder meant; a whiteout or opaque marker applies to lower layers only, wherever it sits in the tar)."""
    fs: dict[str, tuple] = {}

    def drop(prefix: str, keep_self: bool) -> None:
        for k in [k for k in fs if k.startswith(prefix + "/") or (not keep_self and k == prefix)]:
            del fs[k]

    for l in img["layers"]:
        with tarfile.open(store.path(l["digest"]), "r:gz") as tf:
            entries = []
            for e in tf:
                data = None
                if e.isreg() and e.size <= keep_content_below:
                    data = tf.extractfile(e).read()
                n = e.name[2:] if e.name.startswith("./") else e.name
                entries.append((e, "/" + n.strip("/"), data))
        for e, n, _ in entries:  # markers first: they act on the layers below
            parent, _, base = n.rpartition("/")
            if base == OPQ:
                drop(parent, keep_self=True)
            elif base.startswith(".wh."):
                drop(f"{parent}/{base[4:]}", keep_self=False)
        for e, n, data in entries:
            base = n.rpartition("/")[2]
            if base == OPQ or base.startswith(".wh."):
                continue
            if not e.isdir() and fs.get(n, ("",))[0] == "dir":
                drop(n, keep_self=False)  # a non-directory replaces a lower directory whole
            kind = "dir" if e.isdir() else "symlink" if e.issym() else "hardlink" if e.islnk() else "file"
            fs[n] = (kind, data if kind == "file" else e.linkname)
    return fs


def cmd_verify(a) -> int:
    key = cache_root(a.cache_dir) / SCRIPT_KEY
    store = Store(key)
    fixtures = json.loads((key / "fixtures.json").read_text())
    passed = failed = 0

    def check(what: str, ok: bool, detail: str = "") -> None:
        nonlocal passed, failed
        passed, failed = passed + ok, failed + (not ok)
        print(f"{'ok  ' if ok else 'FAIL'} {what}{'' if ok or not detail else ': ' + detail}")

    for name in a.image or list(fixtures["images"]):
        img = json.loads((key / "images" / f"{name}.json").read_text())
        exp = img["expected"]
        fs = merged_fs(store, img)
        for path in exp.get("files_absent", []):
            check(f"{name}: {path} absent", path not in fs)
        for path, content in (exp.get("files_present") or {}).items():
            got = fs.get(path)
            check(f"{name}: {path} present" + (f" holding {content!r}" if content else ""),
                  got is not None and (content is None or got[1] == content.encode()), repr(got))
        st = fs.get("/var/lib/dpkg/status")
        if "deb" in exp.get("packages", {}):
            got = installed_debs(st[1].decode()) if st and st[1] else None
            check(f"{name}: merged /var/lib/dpkg/status installs exactly the expected deb set "
                  f"({len(exp['packages']['deb'])})", got == exp["packages"]["deb"])
        osr = fs.get("/etc/os-release")
        if osr and osr[0] == "symlink":
            osr = fs.get("/usr/lib/os-release") if osr[1] in ("../usr/lib/os-release", "/usr/lib/os-release") else None
        if exp.get("os") and osr:
            check(f"{name}: os-release says ID={exp['os']['id']} VERSION_ID={exp['os']['version_id']}",
                  f"ID={exp['os']['id']}" in osr[1].decode().replace('"', "")
                  and f"VERSION_ID={exp['os']['version_id']}" in osr[1].decode().replace('"', ""))
        check(f"{name}: OCI layout and docker archive exist",
              Path(img["oci_dir"], "index.json").exists() and Path(img["docker_archive"]).exists())
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


# ----------------------------------------------------------------------------------------------- main

def lock(root: Path, timeout: float = 1800):
    root.mkdir(parents=True, exist_ok=True)
    f = open(root / ".lock", "w")

    def give_up(*_):
        raise BuildError(f"another build holds {root}/.lock for more than {timeout:.0f}s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(int(timeout))
    try:
        fcntl.flock(f, fcntl.LOCK_EX)         # waits for the other build's unlock (or the alarm)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return f


def check_tools(with_big: bool) -> None:
    need = ["mmdebstrap", "rpmbuild", "rpm", "rpm2archive", "dpkg-deb", "/usr/bin/docker-registry"]
    if with_big:
        need.append("apt-get")
    missing = [t for t in need if not shutil.which(t)]
    if missing:
        raise BuildError(f"missing {' '.join(missing)}: run scripts/deps.sh")
    if os.geteuid() != 0:
        raise BuildError("mmdebstrap runs in root mode here (chroot apt-get): run as root")


def cmd_build(a) -> int:
    t_start = time.monotonic()
    root = cache_root(a.cache_dir)
    lk = lock(root)
    key = root / SCRIPT_KEY
    if a.rebuild and key.exists():
        d = key / "registry"
        if (d / "fixture.pid").exists():
            run([sys.executable, str(REPO / "Tests/registry/fixture.py"), "stop", "--dir", str(d)], 30)
        shutil.rmtree(key)
    for old in root.iterdir():  # other keys belong to other versions of this script: stop and remove them
        if old.is_dir() and old.name != SCRIPT_KEY and len(old.name) == 16:
            d = old / "registry"
            if (d / "fixture.pid").exists():
                subprocess.run([sys.executable, str(REPO / "Tests/registry/fixture.py"), "stop", "--dir", str(d)],
                               capture_output=True, timeout=30)
            log(f"removing stale cache {old}")
            shutil.rmtree(old, ignore_errors=True)
    key.mkdir(parents=True, exist_ok=True)
    check_tools(a.with_big)
    store = Store(key)
    (key / "images").mkdir(exist_ok=True)
    timings: dict[str, float] = {}
    built: list[str] = []

    deb_holder: dict = {}

    def deb() -> dict:
        if not deb_holder:
            deb_holder.update(stage_debian(key, store))
        return deb_holder

    builders: list[tuple[str, Callable[[], dict]]] = [
        ("debian-python", lambda: image_debian_python(key, store, deb())),
        ("rpm-image", lambda: image_rpm(key, store)),
        ("apk-image", lambda: image_apk(key, store)),
        ("layered-deb", lambda: image_layered_deb(key, store, deb())),
    ]
    if a.with_big or (key / "images" / "big.json").exists():  # built once when asked; listed from then on
        builders.append(("big", lambda: image_big(key, store, deb())))
    images: dict[str, dict] = {}
    for name, fn in builders:
        rec_p = key / "images" / f"{name}.json"
        if rec_p.exists():
            images[name] = json.loads(rec_p.read_text())
            continue
        t0 = time.monotonic()
        log(f"building {name}")
        img = fn()
        t1 = time.monotonic()
        img["oci_dir"] = str(write_oci_layout(key, store, img))
        img["docker_archive"] = str(write_docker_archive(key, store, img))
        img["build_seconds"] = round(time.monotonic() - t0, 1)
        log(f"{name}: {img['compressed_size'] / 1e6:.1f} MB compressed, {img['uncompressed_size'] / 1e6:.1f} MB "
            f"uncompressed, built in {img['build_seconds']}s (OCI layout + docker archive "
            f"{time.monotonic() - t1:.1f}s)")
        fx.write_atomic(rec_p, jdump(img))
        images[name] = img
        timings[name] = img["build_seconds"]
        built.append(name)
    shutil.rmtree(store.tmp, ignore_errors=True)
    t_built = time.monotonic()
    registry = None
    pushes = {}
    if not a.no_push:
        registry = registry_up(key, a.max_lifetime)
        client = fx.RegistryClient(registry["url"])
        try:
            client.ping()
            pushed: dict[str, str] = {}
            for name, img in images.items():
                pushes[name] = push_image(client, store, img, pushed)
        finally:
            client.close()
    t_end = time.monotonic()
    out = {"cache_dir": str(root), "key": SCRIPT_KEY, "key_dir": str(key),
           "built_now": built, "reused": [n for n in images if n not in built],
           "seconds": {"total": round(t_end - t_start, 1), "build": round(t_built - t_start, 1),
                       "push": round(t_end - t_built, 1), "per_image": timings},
           "debian_stage": {k: v for k, v in deb_holder.items() if k.endswith("_seconds")} or None,
           "registry": None if registry is None else {
               "url": registry["url"], "host": registry["host"], "port": registry["port"],
               "dir": registry["dir"], "reused": registry["reused"], "fixture_pid": registry["fixture_pid"],
               "registry_pid": registry["registry_pid"],
               "stop": f"{sys.executable} {REPO}/Tests/registry/fixture.py stop --dir {registry['dir']}"},
           "big_built": "big" in images,
           "images": {}}
    for name, img in images.items():
        ref = f"{registry['host']}/{img['repository']}:{img['tag']}" if registry else None
        out["images"][name] = {
            "ref": ref, "registry_ref": f"registry:{ref}" if ref else None,
            "repository": img["repository"], "tag": img["tag"], "media_type": img["mediaType"],
            "manifest_digest": img["manifest_digest"], "config_digest": img["config_digest"],
            "oci_dir": img["oci_dir"], "oci_ref": f"oci:{img['oci_dir']}",
            "oci_manifest_digest": img.get("oci_manifest_digest", img["manifest_digest"]),
            "docker_archive": img["docker_archive"], "docker_archive_ref": f"docker-archive:{img['docker_archive']}",
            "compressed_size": img["compressed_size"], "uncompressed_size": img["uncompressed_size"],
            "layers": [{k: l[k] for k in ("digest", "size", "diff_id", "uncompressed_size", "comment")}
                       for l in img["layers"]],
            "build_seconds": img.get("build_seconds"), "push": pushes.get(name),
            "expected": img["expected"], "notes": img["notes"]}
    fx.write_atomic(key / "fixtures.json", jdump(out))
    wait_removals()
    shutil.rmtree(key / "work", ignore_errors=True)  # also whatever a killed run left behind
    print(json.dumps(out, indent=1))
    lk.close()
    return 0


def cmd_stop(a) -> int:
    key = cache_root(a.cache_dir) / SCRIPT_KEY
    d = key / "registry"
    if not (d / "fixture.pid").exists():
        print(json.dumps({"stopped": False, "reason": f"no registry running from {d}"}))
        return 0
    p = subprocess.run([sys.executable, str(REPO / "Tests/registry/fixture.py"), "stop", "--dir", str(d)],
                       capture_output=True, timeout=40)
    sys.stdout.write(p.stdout.decode())
    sys.stderr.write(p.stderr.decode())
    return p.returncode


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--with-big", action="store_true", help="also build the ~350 MB benchmark image")
    b.add_argument("--cache-dir")
    b.add_argument("--rebuild", action="store_true", help="drop this key's cache first")
    b.add_argument("--no-push", action="store_true", help="build only: no registry")
    b.add_argument("--max-lifetime", type=float, default=3600, help="the registry stops itself after this")
    b.set_defaults(fn=cmd_build)
    s = sub.add_parser("stop")
    s.add_argument("--cache-dir")
    s.set_defaults(fn=cmd_stop)
    v = sub.add_parser("verify", help="merge each built image's layers and check its expected files and status")
    v.add_argument("--cache-dir")
    v.add_argument("--image", action="append")
    v.set_defaults(fn=cmd_verify)
    q = sub.add_parser("path")
    q.add_argument("--cache-dir")
    q.set_defaults(fn=lambda a: print(cache_root(a.cache_dir) / SCRIPT_KEY) or 0)
    a = p.parse_args(argv)
    try:
        return a.fn(a)
    except (BuildError, fx.FixtureError) as e:
        print(f"accuracy: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
