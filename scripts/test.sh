#!/usr/bin/env bash
# Installs what is missing, then runs every test: the Swift test suites, the Core and parser suites
# once more under AddressSanitizer, the suites that run the cr-agent executable once more on the
# release build as it ships (scripts/build-release.sh), and each fuzz target. FUZZ_SECONDS (default
# 10: a smoke run of each of the ~25 targets that keeps the whole run well under 30 minutes; fuzz one
# target for longer with scripts/fuzz.sh) sets how long each fuzz target runs; 0 skips fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
run_start=$(date +%s)
# Prints how long each phase took (to stderr), so the run's time can be watched against CI's budget.
phase() { echo "== test.sh: $1 done at $(( $(date +%s) - run_start )) s" >&2; }
scripts/deps.sh
phase deps
swift build --build-tests
phase "debug build"

passed=0; failed=0
# Runs one XCTest pass, keeping its output in LOG, and adds its cases to the totals. A pass that ran
# nothing, exited non-zero without a counted failure, or drew an AddressSanitizer report counts one failure.
run_pass() {    # run_pass LOG COMMAND...
  local log=$1; shift
  set +e
  "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  set -e
  local line run bad
  line=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -n 1)
  run=$(echo "$line" | sed -nE 's/.*Executed ([0-9]+) tests?.*/\1/p')
  bad=$(echo "$line" | sed -nE 's/.*with ([0-9]+) failures?.*/\1/p')
  if [ -z "$run" ] || [ "$run" -eq 0 ]; then run=1; bad=1; fi
  if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  if grep -q "ERROR: AddressSanitizer" "$log" && [ "$bad" -eq 0 ]; then bad=1; fi
  passed=$((passed + run - bad)); failed=$((failed + bad))
}

# The runtime-image test and the demo need the release binaries: they run in the release pass below.
run_pass .build/test-output.txt swift test --skip-build --skip DeployArtifactsTests.testRuntimeImagesBuildAndRun --skip DemoTests
phase "debug pass"

# The Core suites and the parsers' suites once more under AddressSanitizer (Swift and the C shim):
# the reactor, the HTTP connection and its unowned(unsafe) references, tar/gzip/zstd/zip/rpm/ELF
# parsing, the layer workers and their queues (ImageScannerTests). TarLayerThroughputTests measures
# speed ratios, which ASan distorts; leaks are not checked (Foundation's process and pipe helpers in the
# test harness leak by design). Adds about 3 minutes
# on a 2-core machine: ~50 s to build from scratch, ~2 min 15 s of tests.
asan_filter='CoreTests\.|AgentTests\.(ApkCatalogerTests|CargoLockTests|ComposerCatalogerTests|DotNetDepsTests|DpkgCatalogerTests|GoBinaryTests|HostileCatalogerTests|ImageScannerTests|JavaArchiveTests|LayerMergeTests|NpmCatalogerTests|PythonCatalogerTests|RegistryParsingTests|RpmCatalogerTests|RubyGemspecTests|ScanPiecesTests)|BrokerTests\.(FilterTableTests|FilterCustomTests|ClientSettingsTests|ProtocolCodecTests|ProtocolGoldenTests|ProtocolSocketTests)'
swift build --build-tests --scratch-path .build-asan -Xswiftc -sanitize=address -Xcc -fsanitize=address
phase "ASan build"
run_pass .build/test-asan-output.txt env ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no \
  swift test --skip-build --scratch-path .build-asan --filter "$asan_filter" --skip TarLayerThroughputTests
phase "ASan pass"

# The process-level suites again, on the statically linked, link-ordered release binaries.
release_suites="AgentProcessTests|FetchCommandTests|ScanCommandTests|ListCommandTests|SecretsInLogsTests|AccuracyTests|ECRLoginTests|HostileImageTests|ServiceOperationTests|RegistryVendorTests|ServiceListingTests|DeployArtifactsTests|BrokerCommandTests|BrokerClientProcessTests|BrokerServerProcessTests|BrokerServerTunnelTests|BrokerEndToEndTests|DemoTests"
release_binary=$(scripts/build-release.sh) || { echo "release build failed" >&2; exit 1; }
phase "release build"
run_pass .build/test-release-output.txt env CR_AGENT_BINARY="$release_binary" BROKER_BINARY="$(dirname "$release_binary")/broker" \
  swift test --skip-build --filter "$release_suites"
phase "release pass"

fuzz_ok=0; fuzz_failed=0
if [ "${FUZZ_SECONDS:-10}" != "0" ]; then
  set +e
  scripts/fuzz.sh "${FUZZ_SECONDS:-10}" 2>&1 | tee .build/fuzz-output.txt
  fuzz_status=${PIPESTATUS[0]}
  set -e
  fuzz_ok=$(grep -cE "^  [a-z0-9-]+: .*, ok$" .build/fuzz-output.txt || true)
  fuzz_failed=$(grep -cE "^  [a-z0-9-]+: " .build/fuzz-output.txt || true)
  fuzz_failed=$((fuzz_failed - fuzz_ok))
  if [ "$fuzz_status" -ne 0 ] && [ "$fuzz_failed" -eq 0 ]; then fuzz_failed=1; fi
  phase fuzz
fi
# One closing line for the whole run: XCTest cases (the three runs) plus fuzz targets.
echo "total: $((passed + fuzz_ok)) passed, $((failed + fuzz_failed)) failed"
[ "$((failed + fuzz_failed))" -eq 0 ]
