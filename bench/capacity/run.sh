#!/usr/bin/env bash
# Capacity benchmark: the agent as Snyk sizes it (one CPU, 2 GB, MAX_ACTIVE_OPERATIONS=1) scanning one
# operation of N distinct images of about SIZE MB, built from shared and unshared layers (not a test; see
# bench/README.md). Prints images/hour, peak RSS (agent + workers), the agent's RSS growth per image and the
# time per uncached compressed byte against bench/scan's pipeline limit measured in the same run.
#
#   bench/capacity/run.sh
#
# Environment: BENCH_IMAGES (40), BENCH_IMAGE_MB (350, uncompressed), BENCH_SHARED_MB (200 of them shared by
# every image), BENCH_MEMORY_MAX (2G), BENCH_AGENT (a cr-agent binary to use instead of the release build),
# BENCH_STRICT=1 exits 1 when a target is missed.
# Raw outputs go to bench/out/capacity-<time>/ (ignored by git).
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/../.."
images=${BENCH_IMAGES:-40}
size_mb=${BENCH_IMAGE_MB:-350}
shared_mb=${BENCH_SHARED_MB:-200}
memory_max=${BENCH_MEMORY_MAX:-2G}
python=.venv/bin/python
for tool in "$python" taskset timeout cc curl jq; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (scripts/deps.sh installs it)" >&2; exit 2; }
done

out=bench/out/capacity-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-capacity.XXXXXX")
agent_pid= receiver_pid= cgroup=
cleanup() {
    [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true
    [ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null || true
    timeout 60 "$python" Tests/registry/fixture.py stop --dir "$tmp/registry" >/dev/null 2>&1 || true
    [ -n "$cgroup" ] && rmdir "$cgroup" 2>/dev/null || true
    rm -rf "$tmp"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

agent=${BENCH_AGENT:-}
if [ -z "$agent" ]; then
    echo "run.sh: building cr-agent as it ships (scripts/build-release.sh, .build-bench)"
    agent=$(timeout 1800 scripts/build-release.sh --scratch-path .build-bench 2>"$out/build.log") || { echo "run.sh: build failed; see $out/build.log" >&2; exit 1; }
fi
cc -O2 -Wall -o "$tmp/pipeline_limit" bench/scan/pipeline_limit.c -lz -lcrypto -lisal

"$python" Tests/registry/fixture.py start --auth none --dir "$tmp/registry" --detach --max-lifetime 86400 >/dev/null
url=$(jq -r .url "$tmp/registry/fixture.json")
echo "run.sh: building and pushing $images images of ~$size_mb MB ($shared_mb MB shared) to $url"
"$python" bench/capacity/make_images.py --url "$url" --images "$images" --size-mb "$size_mb" --shared-mb "$shared_mb" \
    --blobs "$tmp/blobs" >"$out/images.json" 2>"$out/make_images.log"
jq '.refs' "$out/images.json" >/dev/null

# The pipeline limit on the shared layers and the first own layers, pinned to CPU 0 like the agent.
mapfile -t blobs < <(jq -r '.limit_blobs[]' "$out/images.json")
# With ISA-L's inflate, as cr-agent inflates (zlib's limit is about twice as slow).
taskset -c 0 "$tmp/pipeline_limit" --isal "${blobs[@]}" >"$out/limit.out"
eval "$(head -1 "$out/limit.out" | sed 's/^/limit_/; s/ / limit_/g')"

# The callback receiver: 200 to every POST.
cat >"$tmp/receiver.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
"$python" "$tmp/receiver.py" >"$tmp/receiver.port" & receiver_pid=$!
for _ in $(seq 50); do [ -s "$tmp/receiver.port" ] && break; sleep 0.1; done

# The box: one CPU (taskset, inherited by the workers) and MemoryMax for the agent and its workers together.
box=(taskset -c 0)
limit_note="none (no systemd scope or memory cgroup available: peak RSS measured, not enforced)"
if timeout 10 systemd-run --scope --quiet -p MemoryMax=1G true >/dev/null 2>&1; then
    box=(systemd-run --scope --quiet -p "MemoryMax=$memory_max" taskset -c 0)
    limit_note="systemd-run --scope -p MemoryMax=$memory_max"
else
    parent=/sys/fs/cgroup/memory$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)
    if [ -d "$parent" ] && mkdir "$parent/bench-capacity-$$" 2>/dev/null; then
        cgroup=$parent/bench-capacity-$$
        numfmt --from=iec "$memory_max" >"$cgroup/memory.limit_in_bytes"
        box=(sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cgroup" taskset -c 0)
        limit_note="cgroup v1 memory.limit_in_bytes=$memory_max ($cgroup)"
    fi
fi
echo "run.sh: memory limit: $limit_note"

port_file=$tmp/agent.out
env -i PATH=/usr/bin:/bin SNYK_PORT=0 REACTOR_THREADS=1 MAX_ACTIVE_OPERATIONS=1 LOG_LEVEL=info SCAN_CACHE_DIR="$tmp/cache" \
    BROKER_CLIENT_URL="http://127.0.0.1:$(cat "$tmp/receiver.port")" SWIFT_BACKTRACE=enable=no \
    "${box[@]}" "$agent" >"$out/agent.log" 2>&1 & agent_pid=$!
port=
for _ in $(seq 100); do
    port=$(grep -o '"port":[0-9]*' "$out/agent.log" 2>/dev/null | head -1 | cut -d: -f2) && [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "run.sh: the agent did not start; see $out/agent.log" >&2; exit 1; }
creds=$(printf '{"username":"bench", "password":"bench", "registryBase":"%s"}\n' "$url" | base64 -w0)
# The agent may be a child of the box command: its own pid is the one listening.
agent_proc=$(pgrep -P "$agent_pid" -x cr-agent || true); agent_proc=${agent_proc:-$agent_pid}
set +e
"$python" bench/capacity/monitor.py --port "$port" --pid "$agent_proc" --refs "$out/images.json" --credentials "$creds" >"$out/result.json"
rc=$?
set -e
cat "$out/result.json"

# The peer in the same run: `cr-agent scan` of one image with no cache, on the same CPU, per compressed byte
# (what the service adds per byte is the difference: worker start, the operation, the callbacks).
host=${url#http://}
cli_start=$EPOCHREALTIME
env -i PATH=/usr/bin:/bin HOME=/nonexistent taskset -c 0 "$agent" scan --plain-http --format json "$host/capacity/app-000:1.0" >"$out/cli-scan.json" 2>"$out/cli-scan.log"
cli_wall=$(awk -v a="$cli_start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
cli_bytes=$(jq '.image_compressed_bytes[0]' "$out/images.json")

wall=$(jq .wall_s "$out/result.json"); scanned=$(jq .scanned "$out/result.json"); pulled=$(jq .bytes_pulled "$out/result.json")
peak=$(jq .peak_rss_bytes "$out/result.json"); growth=$(jq .agent_rss_growth_per_image_bytes "$out/result.json")
awk -v wall="$wall" -v n="$scanned" -v pulled="$pulled" -v lw="$limit_wall" -v lb="$limit_compressed_bytes" \
    -v peak="$peak" -v growth="$growth" -v cw="$cli_wall" -v cb="$cli_bytes" -v images="$images" -v size="$size_mb" -v failed="$(jq .failed_count "$out/result.json")" '
BEGIN {
    ours = wall / pulled * 1e9; lim = lw / lb * 1e9; ratio = ours / lim
    printf "\n%d images of ~%d MB, MAX_ACTIVE_OPERATIONS=1, one CPU\n", images, size
    printf "  images/hour                 %.0f (Snyk sizing floor: ~160 images of ~350 MB per run)\n", n / wall * 3600
    printf "  failed images               %d (target 0)\n", failed
    printf "  peak RSS, agent + workers   %.0f MiB\n", peak / 1048576
    printf "  agent RSS growth per image  %.1f KiB (target < 1024 KiB)\n", growth / 1024
    printf "  ns per uncached byte        %.2f ours, %.2f pipeline limit: ratio %.2f (target <= 1.3)\n", ours, lim, ratio
    printf "  cr-agent scan, one image    %.2f ns per compressed byte: service/CLI %.2f, CLI/limit %.2f\n", cw / cb * 1e9, ours / (cw / cb * 1e9), (cw / cb * 1e9) / lim
    if (failed > 0 || growth >= 1048576 || ratio > 1.3) exit 3
}' && verdict=0 || verdict=$?
if [ "$verdict" = 3 ] && [ "${BENCH_STRICT:-0}" = 1 ]; then exit 1; fi
exit $(( rc == 0 ? 0 : 1 ))
