#!/usr/bin/env bash
# Hostile cataloger inputs timed at sizes N and 4N through `cr-agent scan oci:<dir>` (release build): the
# ratio of the two times should stay near 4 (linear work); a quadratic cataloger would show ~16.
# The same inputs as the work-counter tests in Tests/AgentTests/HostileCatalogerTests.swift.
#
#   bench/hostile/run.sh            BENCH_REPEAT (3) runs per size, the median is reported
set -euo pipefail
cd "$(dirname "$0")/../.."
repeat=${BENCH_REPEAT:-3}
python=.venv/bin/python
swift build -c release --scratch-path .build-bench --product cr-agent >/dev/null
agent=.build-bench/release/cr-agent
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" bench/hostile/make_images.py "$work/n" 1
"$python" bench/hostile/make_images.py "$work/4n" 4

# Median wall time in milliseconds of `cr-agent scan` on one layout.
scan_ms() {
    local times=()
    for _ in $(seq "$repeat"); do
        local start end
        start=$(date +%s%N)
        SCAN_CACHE_DIR="$work/cache-$RANDOM" timeout -k 5 600 "$agent" scan "oci:$1" >/dev/null 2>&1 || true
        end=$(date +%s%N)
        times+=($(( (end - start) / 1000000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (repeat + 1) / 2 ))p"
}

printf '%-22s %10s %10s %8s\n' case "N (ms)" "4N (ms)" ratio
for dir in "$work"/n/*/; do
    name=$(basename "$dir")
    small=$(scan_ms "$work/n/$name")
    large=$(scan_ms "$work/4n/$name")
    printf '%-22s %10s %10s %8s\n' "$name" "$small" "$large" "$(awk -v a="$small" -v b="$large" 'BEGIN { printf "%.1f", (a > 0 ? b / a : 0) }')"
done
