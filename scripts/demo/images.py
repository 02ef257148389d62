"""The demo's images: built with the accuracy fixtures' own builders (Tests/accuracy/build_fixtures.py) into
the demo's cache, then pushed to the demo's registry.

    demo/debian:12       a Debian bookworm root from `mmdebstrap --variant=minbase` (the accuracy layer 1)
    demo/rocky-rpm:9.3   rpm packages built with rpmbuild, a sqlite rpm db written by rpm (the accuracy rpm-image)
    demo/alpine-apk:3.19 an Alpine-format /lib/apk/db/installed (the accuracy apk-image)
    demo/shop-app:1.0    the Debian root + python3, node and Java packages from apt (the accuracy debian-python)
                         + an application layer: a node_modules tree, a virtualenv and two Maven jars

None needs Go or a JDK on this machine (the jars are zip files written here). The cache key is the hash of
this file and of the builders, so a changed builder rebuilds; the Debian root is taken from the accuracy
cache when that cache already holds the same builder's root (no second mmdebstrap run)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests" / "accuracy"))
import build_fixtures as bf  # noqa: E402  the accuracy builders (and, through them, the registry harness)

fx = bf.fx
KEY = hashlib.sha256(Path(__file__).read_bytes() + Path(bf.__file__).read_bytes()).hexdigest()[:16]

NPM = [("express", "4.18.2"), ("lodash", "4.17.21"), ("debug", "2.6.9"), ("ms", "2.0.0")]
PIP = [("flask", "3.0.0"), ("werkzeug", "3.0.1"), ("jinja2", "3.1.2")]
JARS = [("org.apache.commons", "commons-text", "1.10.0"), ("com.google.guava", "guava", "32.1.3-jre")]


def app_layer_tree(root: Path) -> None:
    """The application as `npm install`, `pip install` into a venv and a Maven build would leave it."""
    app = root / "srv/shop"
    deps = {}
    for name, version in NPM:
        d = app / "node_modules" / name
        d.mkdir(parents=True)
        (d / "package.json").write_text(json.dumps({"name": name, "version": version, "license": "MIT"}) + "\n")
        deps[name] = version
    (app / "package.json").write_text(json.dumps({"name": "shop", "version": "1.0.0", "dependencies": deps}) + "\n")
    sp = root / "srv/shop/venv/lib/python3.11/site-packages"
    for name, version in PIP:
        di = sp / f"{name}-{version}.dist-info"
        di.mkdir(parents=True)
        (di / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n")
        (di / "INSTALLER").write_text("pip\n")
    lib = app / "lib"
    lib.mkdir()
    for group, artifact, version in JARS:
        with zipfile.ZipFile(lib / f"{artifact}-{version}.jar", "w") as z:
            z.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\nImplementation-Title: {artifact}\n"
                                               f"Implementation-Version: {version}\n")
            z.writestr(f"META-INF/maven/{group}/{artifact}/pom.properties",
                       f"groupId={group}\nartifactId={artifact}\nversion={version}\n")


def seed_debian_stage(key: Path) -> bool:
    """Links the accuracy cache's Debian layers into the demo cache when they were made by this same builder."""
    src = bf.cache_root(None) / bf.SCRIPT_KEY
    rec_p = src / "stages" / "debian.json"
    if not rec_p.exists():
        return False
    rec = json.loads(rec_p.read_text())
    blobs = [rec["layer1"]["digest"], rec["layer2"]["digest"]]
    if not all((src / "blobs/sha256" / d.split(":")[1]).exists() for d in blobs):
        return False
    for d in blobs:
        a, b = src / "blobs/sha256" / d.split(":")[1], key / "blobs/sha256" / d.split(":")[1]
        if not b.exists():
            try:
                os.link(a, b)
            except OSError:
                shutil.copyfile(a, b)
    (key / "stages").mkdir(exist_ok=True)
    fx.write_atomic(key / "stages" / "debian.json", rec_p.read_bytes())
    return True


def renamed(img: dict, repository: str, tag: str) -> dict:
    return dict(img, repository=repository, tag=tag)


def build(cache: Path, progress) -> list[dict]:
    """The demo's images, built now or read from the cache; each record as build_fixtures makes it."""
    cache.mkdir(parents=True, exist_ok=True)
    lk = bf.lock(cache)
    try:
        for old in cache.iterdir():   # other keys were made by other versions of the builders
            if old.is_dir() and old.name != KEY and len(old.name) == 16:
                shutil.rmtree(old, ignore_errors=True)
        key = cache / KEY
        store = bf.Store(key)
        (key / "images").mkdir(exist_ok=True)
        deb: dict = {}

        def debian() -> dict:
            if not deb:
                if seed_debian_stage(key):
                    progress("  Debian root: taken from the accuracy fixtures' cache")
                else:
                    progress("  Debian root: mmdebstrap bookworm (two passes, a few minutes the first time)")
                deb.update(bf.stage_debian(key, store))
            return deb

        def shop() -> dict:
            work = key / "work" / "shop"
            shutil.rmtree(work, ignore_errors=True)
            app_layer_tree(work)
            l3 = bf.layer_of_dir(store, work, "the shop application: npm install, pip install, mvn package")
            shutil.rmtree(work, ignore_errors=True)
            d = debian()
            img = bf.make_image(store, "shop-app", [d["layer1"], d["layer2"], l3],
                                ["mmdebstrap --variant=minbase bookworm /", "RUN apt-get install python3 node-* ...",
                                 "COPY shop /srv/shop"], cmd=["python3", "-m", "flask", "run"])
            return img

        builders = [
            ("debian", "demo/debian", "12", lambda: bf.make_image(
                store, "debian", [debian()["layer1"]], ["mmdebstrap --variant=minbase bookworm /"], cmd=["bash"])),
            ("rocky-rpm", "demo/rocky-rpm", "9.3", lambda: bf.image_rpm(key, store)),
            ("alpine-apk", "demo/alpine-apk", "3.19", lambda: bf.image_apk(key, store)),
            ("shop-app", "demo/shop-app", "1.0", shop),
        ]
        images = []
        for name, repository, tag, fn in builders:
            rec_p = key / "images" / f"{name}.json"
            if rec_p.exists():
                images.append(json.loads(rec_p.read_text()))
                continue
            progress(f"building image {repository}:{tag}")
            bf.check_tools(False)
            img = renamed(fn(), repository, tag)
            img["oci_dir"] = str(bf.write_oci_layout(key, store, img))
            fx.write_atomic(rec_p, bf.jdump(img))
            images.append(img)
        bf.wait_removals()
        shutil.rmtree(key / "work", ignore_errors=True)
        shutil.rmtree(store.tmp, ignore_errors=True)
        for img in images:
            img["store"] = str(key)
        return images
    finally:
        lk.close()


def push(images: list[dict], url: str, username: str, password: str) -> None:
    client = fx.RegistryClient(url, username=username, password=password)
    try:
        client.ping()
        pushed: dict[str, str] = {}
        for img in images:
            bf.push_image(client, bf.Store(Path(img["store"])), img, pushed)
    finally:
        client.close()
