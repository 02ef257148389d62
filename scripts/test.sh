#!/usr/bin/env bash
# Installs what is missing, then runs every test: the Swift test suites and each fuzz target.
# FUZZ_SECONDS (default 20) sets how long each fuzz target runs; 0 skips fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --build-tests
swift test --skip-build --parallel --num-workers 2 2>&1 | tee .build/test-output.txt | grep -vE "^Test Case '.*' (started|passed)" || true
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ] || grep -qE "with [1-9][0-9]* failures?|error:" .build/test-output.txt; then
  echo "swift test failed" >&2
  exit 1
fi
if [ "${FUZZ_SECONDS:-20}" != "0" ]; then
  scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
fi
