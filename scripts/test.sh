#!/usr/bin/env bash
# Installs what is missing, then runs every test: the Swift test suites, the Core and parser suites
# once more under AddressSanitizer, the suites that run the cr-agent executable once more on the
# release build as it ships (scripts/build-release.sh), and each fuzz target. FUZZ_SECONDS (default
# 20) sets how long each fuzz target runs; 0 skips fuzzing.
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
# The Core suites and the parsers' suites once more under AddressSanitizer (Swift and the C shim):
# the reactor, the HTTP connection and its unowned(unsafe) references, tar/gzip/zstd/zip/rpm/ELF
# parsing. TarLayerThroughputTests measures speed ratios, which ASan distorts; leaks are not checked
# (Foundation's process and pipe helpers in the test harness leak by design). Adds about 3 minutes
# on a 2-core machine: ~50 s to build from scratch, ~2 min 15 s of tests.
asan_filter='CoreTests\.|AgentTests\.(ApkCatalogerTests|CargoLockTests|ComposerCatalogerTests|DotNetDepsTests|DpkgCatalogerTests|GoBinaryTests|JavaArchiveTests|LayerMergeTests|NpmCatalogerTests|PythonCatalogerTests|RegistryParsingTests|RpmCatalogerTests|RubyGemspecTests|ScanPiecesTests)'
swift build --build-tests --scratch-path .build-asan -Xswiftc -sanitize=address -Xcc -fsanitize=address
set +e
ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no swift test --skip-build --scratch-path .build-asan \
  --filter "$asan_filter" --skip TarLayerThroughputTests 2>&1 | tee .build/test-asan-output.txt
asan_status=${PIPESTATUS[0]}
set -e
asan_tests=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" .build/test-asan-output.txt | tail -n 1)
asan_run=$(echo "$asan_tests" | sed -nE 's/.*Executed ([0-9]+) tests?.*/\1/p')
asan_failed=$(echo "$asan_tests" | sed -nE 's/.*with ([0-9]+) failures?.*/\1/p')
if [ -z "$asan_run" ] || [ "$asan_run" -eq 0 ]; then asan_run=1; asan_failed=1; fi
if [ "$asan_status" -ne 0 ] && [ "$asan_failed" -eq 0 ]; then asan_failed=1; fi
if grep -q "ERROR: AddressSanitizer" .build/test-asan-output.txt && [ "$asan_failed" -eq 0 ]; then asan_failed=1; fi
passed=$((passed + asan_run - asan_failed)); failed=$((failed + asan_failed))

# The process-level suites again, on the statically linked, link-ordered release binary.
release_suites="AgentProcessTests|FetchCommandTests|ScanCommandTests|ListCommandTests|SecretsInLogsTests|AccuracyTests|ECRLoginTests|HostileImageTests"
release_binary=$(scripts/build-release.sh) || { echo "release build failed" >&2; exit 1; }
set +e
CR_AGENT_BINARY=$release_binary swift test --skip-build --filter "$release_suites" 2>&1 | tee .build/test-release-output.txt
release_status=${PIPESTATUS[0]}
set -e
release_tests=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" .build/test-release-output.txt | tail -n 1)
release_run=$(echo "$release_tests" | sed -nE 's/.*Executed ([0-9]+) tests?.*/\1/p')
release_failed=$(echo "$release_tests" | sed -nE 's/.*with ([0-9]+) failures?.*/\1/p')
if [ -z "$release_run" ] || [ "$release_run" -eq 0 ]; then release_run=1; release_failed=1; fi
if [ "$release_status" -ne 0 ] && [ "$release_failed" -eq 0 ]; then release_failed=1; fi
passed=$((passed + release_run - release_failed)); failed=$((failed + release_failed))

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
# One closing line for the whole run: XCTest cases (the three runs) plus fuzz targets.
echo "total: $((passed + fuzz_ok)) passed, $((failed + fuzz_failed)) failed"
[ "$((failed + fuzz_failed))" -eq 0 ]
