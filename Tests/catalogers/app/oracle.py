#!/usr/bin/env python3
"""Expected packages for the cataloger tests, read from the real files by tools other than ours:
importlib.metadata for Python distributions, Python's json for package.json, zipfile for jars, the
RubyGems stub line for gemspecs, tomllib for Cargo.lock. Prints one JSON array of {"path", "name",
"version", ...}, paths absolute as in an image (the root directory stripped).

    oracle.py python|npm|jar|gem ROOT
    oracle.py cargo FILE
"""
import importlib.metadata
import json
import os
import pathlib
import re
import sys
import zipfile


def walk(root, want):
    for d, _, files in os.walk(root):
        for f in files:
            full = os.path.join(d, f)
            if not os.path.islink(full) and want(full):
                yield full, "/" + os.path.relpath(full, root)


def python(root):
    out = []
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(d, name)
            if name.endswith(".dist-info") or name.endswith(".egg-info"):
                meta = os.path.join(full, "METADATA" if name.endswith(".dist-info") else "PKG-INFO") if os.path.isdir(full) else full
                dist = importlib.metadata.PathDistribution(pathlib.Path(full))
                raw = dist.metadata["Name"]
                out.append({"path": "/" + os.path.relpath(meta, root), "name": re.sub(r"[-_.]+", "-", raw).lower(),
                            "declared": raw, "version": dist.version})
    return out


def npm(root):
    out = []
    for full, path in walk(root, lambda p: p.endswith("/package.json")):
        with open(full, "rb") as f:
            doc = json.load(f)
        if isinstance(doc.get("name"), str) and isinstance(doc.get("version"), str):
            out.append({"path": path, "name": doc["name"], "version": doc["version"]})
    return out


def jar(root):
    out = []
    for full, path in walk(root, lambda p: p.endswith(".jar")):
        with zipfile.ZipFile(full) as z:
            for n in z.namelist():
                if n.startswith("META-INF/maven/") and n.endswith("/pom.properties"):
                    props = {}
                    for line in z.read(n).decode().splitlines():
                        if "=" in line and not line.startswith("#"):
                            k, v = line.split("=", 1)
                            props[k.strip()] = v.strip()
                    out.append({"path": path, "groupId": props.get("groupId"), "artifactId": props.get("artifactId"),
                                "version": props.get("version")})
    return out


def gem(root):
    out = []
    for full, path in walk(root, lambda p: p.endswith(".gemspec") and "/specifications/" in p):
        with open(full, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"# stub: (\S+) (\S+) ", line)
                if m:
                    out.append({"path": path, "name": m.group(1), "version": m.group(2)})
                    break
    return out


def cargo(path):
    import tomllib
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    return [{"path": path, "name": p["name"], "version": p["version"], "source": p.get("source", "")}
            for p in doc.get("package", [])]


if __name__ == "__main__":
    if sys.argv[1] == "cargo":
        print(json.dumps(cargo(sys.argv[2])))
        sys.exit(0)
    kind, root = sys.argv[1], os.path.abspath(sys.argv[2])
    print(json.dumps(sorted({"python": python, "npm": npm, "jar": jar, "gem": gem}[kind](root), key=lambda e: e["path"])))
