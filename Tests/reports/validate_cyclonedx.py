"""Validates CycloneDX 1.5 JSON files with cyclonedx-python-lib's strict schema validator, then checks
what the schema cannot: bom-refs unique, every purl parseable by packageurl-python."""
import json
import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL


def check(path):
    text = open(path, encoding="utf-8").read()
    problems = []
    error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(text)
    if error is not None:
        problems.append(f"schema: {error}")
    bom = json.loads(text)
    components = bom.get("components", [])
    if "component" in bom.get("metadata", {}):
        components = components + [bom["metadata"]["component"]]
    refs = [c.get("bom-ref") for c in components]
    dupes = sorted({r for r in refs if refs.count(r) > 1})
    if dupes:
        problems.append(f"duplicate bom-refs: {dupes}")
    for c in components:
        if "purl" in c:
            try:
                PackageURL.from_string(c["purl"])
            except ValueError as e:
                problems.append(f"purl {c['purl']!r}: {e}")
    return problems


failed = False
for path in sys.argv[1:]:
    for p in check(path):
        print(f"{path}: {p}")
        failed = True
print("cyclonedx: " + ("FAILED" if failed else f"{len(sys.argv) - 1} file(s) valid"))
sys.exit(1 if failed else 0)
