#!/usr/bin/env bash
# Hostile cataloger inputs timed at sizes N and 4N through `cr-agent scan oci:<dir>` (release build): the
# ratio of the two times should stay near 4 or below (linear work over a fixed start-up); a quadratic
# cataloger shows ~16. The same inputs as the work-counter tests in Tests/AgentTests/HostileCatalogerTests.swift.
#
#   bench/hostile/run.sh [BASE_COMMIT]   with a commit, that commit's cr-agent is built too and timed alongside
#
# BENCH_REPEAT (3) runs per size, the median is reported; BENCH_SCALE (10) multiplies every input's N;
# BENCH_CASES (all) names the cases to run, space-separated (go-ldflags, python-continuation, ...).
set -euo pipefail
cd "$(dirname "$0")/../.."
repeat=${BENCH_REPEAT:-3}
scale=${BENCH_SCALE:-10}
python=.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swift build -c release --scratch-path .build-bench --product cr-agent >/dev/null
agents=(.build-bench/release/cr-agent)
labels=(this)
if [ $# -gt 0 ]; then
    mkdir "$work/base"
    git archive "$1" | tar -x -C "$work/base"
    (cd "$work/base" && swift build -c release --scratch-path "$OLDPWD/.build-bench-base" --product cr-agent >/dev/null)
    agents+=(.build-bench-base/release/cr-agent)
    labels+=("$(git rev-parse --short "$1")")
fi
"$python" bench/hostile/make_images.py "$work/n" "$scale"
"$python" bench/hostile/make_images.py "$work/4n" $((4 * scale))

# Median wall time in milliseconds of `$1 scan oci:$2` (each run with an empty layer cache).
scan_ms() {
    local times=() start end
    for _ in $(seq "$repeat"); do
        start=$(date +%s%N)
        SCAN_CACHE_DIR= timeout -k 5 600 "$1" scan "oci:$2" >/dev/null 2>&1 || true
        end=$(date +%s%N)
        times+=($(( (end - start) / 1000000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (repeat + 1) / 2 ))p"
}

printf '%-22s %-9s %10s %10s %7s\n' case build "N (ms)" "4N (ms)" ratio
for dir in "$work"/n/*/; do
    name=$(basename "$dir")
    [[ " ${BENCH_CASES:-$name} " == *" $name "* ]] || continue
    for k in "${!agents[@]}"; do
        small=$(scan_ms "${agents[$k]}" "$work/n/$name")
        large=$(scan_ms "${agents[$k]}" "$work/4n/$name")
        printf '%-22s %-9s %10s %10s %7s\n' "$name" "${labels[$k]}" "$small" "$large" \
            "$(awk -v a="$small" -v b="$large" 'BEGIN { printf "%.1f", (a > 0 ? b / a : 0) }')"
    done
done
