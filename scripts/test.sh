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
if [ "${FUZZ_SECONDS:-20}" != "0" ]; then
  scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
fi
