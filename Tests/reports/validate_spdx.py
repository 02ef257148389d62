"""Parses SPDX 2.3 JSON files with spdx-tools and runs its full validation (ids, relationships,
license expressions, URIs); also checks every purl reference parses with packageurl-python."""
import json
import sys

from packageurl import PackageURL
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

failed = False
for path in sys.argv[1:]:
    document = parse_file(path)
    for message in validate_full_spdx_document(document, "SPDX-2.3"):
        print(f"{path}: {message.validation_message} ({message.context})")
        failed = True
    for package in json.load(open(path, encoding="utf-8")).get("packages", []):
        for ref in package.get("externalRefs", []):
            if ref["referenceType"] == "purl":
                try:
                    PackageURL.from_string(ref["referenceLocator"])
                except ValueError as e:
                    print(f"{path}: purl {ref['referenceLocator']!r}: {e}")
                    failed = True
print("spdx: " + ("FAILED" if failed else f"{len(sys.argv) - 1} file(s) valid"))
sys.exit(1 if failed else 0)
