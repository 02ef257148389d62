"""Checks snyk-docker-plugin scan results: the result shape (lib/types.ts ScanResult) and, for each
depGraph fact, the invariants @snyk/dep-graph's createFromJSON enforces (src/core/create-from-json.ts,
src/core/validate-graph.ts): schemaVersion in ^1.0.0, pkgManager.name, unique pkg ids equal to
name@version, every node's pkgId known, unique node ids, the root node present with no parents, every
node reachable from the root, every pkg with at least one node."""
import json
import re
import sys


def fail(msg):
    raise ValueError(msg)


def check_graph(g):
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", g.get("schemaVersion", ""))
    if not m or m.group(1) != "1":
        fail("dep-graph schemaVersion not in \"^1.0.0\"")
    if not g.get("pkgManager", {}).get("name"):
        fail(".pkgManager.name is missing")
    pkgs = {}
    for p in g["pkgs"]:
        info = p.get("info")
        if p["id"] in pkgs:
            fail("more than one pkg with same id")
        if not info:
            fail(".pkgs item missing .info")
        if p["id"] != f"{info.get('name')}@{info.get('version') or ''}":
            fail(f"pkgs ids should be name@version: {p['id']}")
        if not info.get("name"):
            fail("some .pkgs elements have no .name field")
        pkgs[p["id"]] = info
    nodes, parents, pkg_nodes = {}, {}, {}
    for n in g["graph"]["nodes"]:
        if n["nodeId"] in nodes:
            fail("more than one node with same id")
        if n["pkgId"] not in pkgs:
            fail("some instance nodes belong to non-existing pkgIds")
        nodes[n["nodeId"]] = [d["nodeId"] for d in n["deps"]]
        pkg_nodes.setdefault(n["pkgId"], set()).add(n["nodeId"])
    for src, deps in nodes.items():
        for d in deps:
            if d not in nodes:
                fail(f"edge to unknown node {d}")
            parents.setdefault(d, set()).add(src)
    root = g["graph"]["rootNodeId"]
    if root not in nodes:
        fail(f".{root} root graph node is missing")
    if parents.get(root):
        fail(f"\"{root}\" is not really the root")
    seen, stack = set(), [root]
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(nodes[n])
    if seen != set(nodes):
        fail("not all graph nodes are reachable from root")
    if set(pkgs) - set(pkg_nodes):
        fail("not all pkgs have instance nodes")
    return len(pkgs) - 1


def check(doc):
    results = doc["scanResults"]
    if not results:
        fail("no scan results")
    identities = set()
    for i, r in enumerate(results):
        if set(r) - {"facts", "target", "identity", "name", "policy", "targetReference"}:
            fail(f"result {i}: unexpected keys {sorted(r)}")
        if not isinstance(r["target"].get("image"), str):
            fail(f"result {i}: target.image")
        ident = r["identity"]
        if not isinstance(ident.get("type"), str) or set(ident) - {"type", "targetFile", "args"}:
            fail(f"result {i}: identity {ident}")
        key = json.dumps(ident, sort_keys=True)
        if key in identities:
            fail(f"result {i}: duplicate identity {key}")
        identities.add(key)
        graphs = [f for f in r["facts"] if f["type"] == "depGraph"]
        if len(graphs) != 1:
            fail(f"result {i}: {len(graphs)} depGraph facts")
        if graphs[0]["data"]["pkgManager"]["name"] != ident["type"]:
            fail(f"result {i}: identity type differs from the graph's package manager")
        types = [f["type"] for f in r["facts"]]
        if len(types) != len(set(types)):
            fail(f"result {i}: repeated facts {types}")
        n = check_graph(graphs[0]["data"])
        print(f"  {ident['type']} {ident.get('targetFile', '')}: {n} packages")


failed = False
for path in sys.argv[1:]:
    try:
        check(json.load(open(path, encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as e:
        print(f"{path}: {type(e).__name__}: {e}")
        failed = True
print("depgraph: " + ("FAILED" if failed else f"{len(sys.argv) - 1} file(s) valid"))
sys.exit(1 if failed else 0)
