"""Reads license ids (one a line; `WITH <exception>` lines for exceptions) on stdin and checks that
spdx-tools' license list (license-expression) and the CycloneDX 1.5 schema's SPDX enum accept each."""
import json
import os
import sys

import cyclonedx
from license_expression import get_spdx_licensing

licensing = get_spdx_licensing()
schema = os.path.join(os.path.dirname(cyclonedx.__file__), "schema", "_res", "spdx.SNAPSHOT.schema.json")
enum = set(json.load(open(schema))["enum"])
bad = []
for line in sys.stdin.read().split("\n"):
    if not line:
        continue
    expression = "MIT " + line if line.startswith("WITH ") else line
    ident = line.split()[-1]
    result = licensing.validate(expression)
    if result.errors or result.invalid_symbols:
        bad.append(f"{line}: spdx-tools: {result.errors}")
    if ident not in enum:
        bad.append(f"{line}: not in the CycloneDX SPDX enum")
print("\n".join(bad) or "license ids: all accepted")
sys.exit(1 if bad else 0)
