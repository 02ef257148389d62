#!/usr/bin/env bash
# Installs what is missing, then runs every test: the Swift test suites and each fuzz target.
# FUZZ_SECONDS (default 20) sets how long each fuzz target runs; 0 skips fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --build-tests
set +e
swift test --skip-build 2>&1 | tee .build/test-output.txt
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ] || grep -qE "with [1-9][0-9]* failures?" .build/test-output.txt; then
  echo "swift test failed (exit $status)" >&2
  exit 1
fi
tests=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" .build/test-output.txt | tail -n 1)
passed=$(echo "$tests" | sed -E 's/.*Executed ([0-9]+) tests?, with ([0-9]+) failures?.*/\1 \2/' | awk '{print $1 - $2}')
failed=$(echo "$tests" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
fuzz_ok=0; fuzz_failed=0
if [ "${FUZZ_SECONDS:-20}" != "0" ]; then
  set +e
  scripts/fuzz.sh "${FUZZ_SECONDS:-20}" 2>&1 | tee .build/fuzz-output.txt
  fuzz_status=${PIPESTATUS[0]}
  set -e
  fuzz_ok=$(grep -cE "^  [a-z0-9-]+: .*, ok$" .build/fuzz-output.txt || true)
  fuzz_failed=$(grep -cE "^  [a-z0-9-]+: " .build/fuzz-output.txt || true)
  fuzz_failed=$((fuzz_failed - fuzz_ok))
  if [ "$fuzz_status" -ne 0 ] && [ "$fuzz_failed" -eq 0 ]; then fuzz_failed=1; fi
fi
# One closing line for the whole run: XCTest cases plus fuzz targets.
echo "total: $((passed + fuzz_ok)) passed, $((failed + fuzz_failed)) failed"
[ "$((failed + fuzz_failed))" -eq 0 ]
