#!/usr/bin/env bash
# Runs the libFuzzer targets of the Fuzz executable (Tests/Fuzz).
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Builds .build-fuzz/debug/Fuzz with -sanitize=fuzzer,address -DFUZZING (incremental; set
# FUZZ_SANITIZERS=fuzzer to drop AddressSanitizer), then fuzzes each target (default: every target that
# `Fuzz --list` prints) for N seconds (default 20), starting from a temporary copy of
# Tests/Fuzz/corpus/<target>; the committed corpus is never written. Prints one summary line per target
# and exits 1 if any target crashed, broke an invariant, hung or ran out of memory, naming the input
# that did it (kept under the printed work directory). It stops at the first failing target unless
# FUZZ_KEEP_GOING=1. FUZZ_KEEP=1 keeps the work directories of passing runs too (their corpus/ then holds
# the inputs libFuzzer found). To replay the committed corpus without libFuzzer:
#   swift build --product Fuzz && .build/debug/Fuzz http-request Tests/Fuzz/corpus/http-request
set -uo pipefail

cd "$(dirname "$0")/.."
seconds=${1:-20}
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh [seconds-per-target] [target...]" >&2
    exit 2
fi
shift $(( $# > 0 ? 1 : 0 ))
sanitizers=${FUZZ_SANITIZERS:-fuzzer,address}
scratch=.build-fuzz
bin=$scratch/debug/Fuzz
export SWIFT_BACKTRACE=enable=no

# Build (idempotent: SwiftPM rebuilds only what changed).
build_log=$(mktemp)
start=$(date +%s.%N)
# swiftc's -sanitize=fuzzer instruments edges only; trace-cmp (which clang's -fsanitize=fuzzer also turns
# on) lets libFuzzer solve multi-byte comparisons such as magic numbers.
if ! swift build --scratch-path "$scratch" -c debug --product Fuzz \
        -Xswiftc "-sanitize=$sanitizers" -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table \
        -Xswiftc -DFUZZING >"$build_log" 2>&1; then
    # gold prints hundreds of harmless "Cannot export local symbol '__asan_...'" warnings; hide them.
    grep -v "Cannot export local symbol" "$build_log" | tail -40 >&2
    rm -f "$build_log"
    echo "fuzz.sh: build failed" >&2
    exit 1
fi
rm -f "$build_log"
printf 'fuzz.sh: built %s (-sanitize=%s) in %ss\n' "$bin" "$sanitizers" "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <("$bin" --list)
fi
known=$("$bin" --list)

failed=0
summary=()
for target in "${targets[@]}"; do
    if ! grep -qx -- "$target" <<<"$known"; then
        echo "fuzz.sh: unknown target $target (known: $(echo $known))" >&2
        summary+=("$target: unknown target")
        failed=1
        continue
    fi
    work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-$target.XXXXXX")
    mkdir -p "$work/corpus" "$work/artifacts"
    if [ -d "Tests/Fuzz/corpus/$target" ]; then
        cp -R "Tests/Fuzz/corpus/$target/." "$work/corpus/"
    fi
    seeds=$(find "$work/corpus" -type f | wc -l)
    echo "fuzz.sh: $target: ${seconds}s from $seeds seed inputs (work directory $work)"
    t0=$(date +%s)
    FUZZ_TARGET=$target timeout -k 10 $((seconds + 60)) "$bin" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1
    rc=$?
    elapsed=$(( $(date +%s) - t0 ))

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -1)
    added=$(sed -n 's/^stat::new_units_added: *//p' "$work/fuzz.log" | tail -1)
    cov0=$(grep -m1 'INITED' "$work/fuzz.log" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    cov1=$(grep -E '^#[0-9]+' "$work/fuzz.log" | grep ' cov: ' | tail -1 | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    artifact=$(find "$work/artifacts" -type f | head -1)

    if [ $rc -eq 0 ] && [ -z "$artifact" ]; then
        result=ok
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        result="HUNG (killed by timeout after $((seconds + 60))s)"
    else
        result="FAILED (exit $rc)"
    fi
    line="$target: ${execs:-?} execs in ${elapsed}s (${rate:-?}/s), coverage ${cov0:-?} -> ${cov1:-?} edges, ${added:-?} new inputs, $result"
    if [ "$result" != ok ]; then
        failed=1
        grep -v "^#[0-9]\|^INFO:\|^MS:\|^base unit:\|^0x\|^stat::\|^Done " "$work/fuzz.log" | tail -40 >&2
        if [ -n "$artifact" ]; then
            echo "fuzz.sh: $target: crashing input: $artifact" >&2
            echo "fuzz.sh: reproduce: FUZZ_TARGET=$target $bin $artifact" >&2
            line="$line; input: $artifact"
        fi
        echo "fuzz.sh: $target: log: $work/fuzz.log" >&2
    elif [ "${FUZZ_KEEP:-0}" = 1 ]; then
        line="$line (kept $work)"
    else
        rm -rf "$work"
    fi
    summary+=("$line")
    if [ $failed -ne 0 ] && [ "${FUZZ_KEEP_GOING:-0}" != 1 ]; then
        break
    fi
done

echo "fuzz.sh: summary"
for line in "${summary[@]}"; do echo "  $line"; done
exit $failed
