#!/usr/bin/env bash
# Regenerates deploy/link-order.txt, the function order scripts/build-release.sh hands to the linker:
# every function that cr-agent runs in its usual work, recorded with valgrind's callgrind while it
#  - fetches and scans images from the reference registry over plain HTTP without auth, and over TLS
#    with token auth (the images tests push: a single-arch image, a multi-platform index, Docker v2),
#  - scans the accuracy images (dpkg, rpm, apk, Python, ...) when Tests/accuracy/build.sh has made them,
#  - serves its HTTP API (a few requests, then SIGTERM).
# Placed side by side, those functions fill a few hundred pages instead of being spread over the whole
# 10 MB of code, where each page touched makes the kernel map its 64 KiB neighbourhood. Symbols that
# no longer exist after later changes are ignored by the linker; rerun this when the code has moved a lot.
#   scripts/link-order.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "link-order: valgrind is missing (apt-get install valgrind)" >&2; exit 2; }
py=.venv/bin/python
fixture=Tests/registry/fixture.py

binary=$(scripts/build-release.sh --scratch-path .build-release)
work=$(mktemp -d "${TMPDIR:-/tmp}/link-order.XXXXXX")
cleanup() {
  for reg in plain tls; do "$py" "$fixture" stop --dir "$work/$reg" >/dev/null 2>&1 || true; done
  [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null || true
  [ -n "${LINK_ORDER_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
# callgrind (valgrind 3.19) cannot read the DWARF 5 the toolchain writes; the symbol table is enough.
objcopy --strip-debug "$binary" "$work/cr-agent"

record() {  # record <name> [VAR=value ...] <cr-agent arguments...>: one run under callgrind into $work/<name>.cg
  local name=$1 vars=(); shift
  while [[ $# -gt 0 && $1 == *=* ]]; do vars+=("$1"); shift; done
  env ${vars[@]+"${vars[@]}"} timeout 600 valgrind --tool=callgrind --demangle=no \
    --callgrind-out-file="$work/$name.cg" "$work/cr-agent" "$@" >"$work/$name.log" 2>&1 ||
    { tail -20 "$work/$name.log" >&2; echo "link-order: $name failed" >&2; exit 1; }
}

"$py" "$fixture" start --auth none --dir "$work/plain" --detach --max-lifetime 900 >/dev/null
"$py" "$fixture" start --auth token --tls --dir "$work/tls" --detach --max-lifetime 900 >/dev/null
for reg in plain tls; do "$py" "$fixture" push --fixture "$work/$reg" --set basic --summary >/dev/null; done
plain=$(jq -r .url "$work/plain/fixture.json")
tls_host=$(jq -r .host "$work/tls/fixture.json")
export CA_CERT LOG_LEVEL=warn
CA_CERT=$(jq -r .ca "$work/tls/fixture.json")
tls_creds=(CR_USERNAME="$(jq -r .username "$work/tls/fixture.json")" CR_PASSWORD="$(jq -r .password "$work/tls/fixture.json")")

record fetch-plain CR_BASE="$plain" fetch multi/app:1.0
record scan-plain CR_BASE="$plain" scan single/app:1.0
record fetch-tls "${tls_creds[@]}" fetch "$tls_host/docker/app:1.0"
record scan-tls "${tls_creds[@]}" scan --format json "$tls_host/single/app:1.0"
recordings=(fetch-plain scan-plain fetch-tls scan-tls)
for layout in .build-accuracy/*/oci/*/; do
  [ -f "$layout/index.json" ] || continue
  name=scan-$(basename "$layout")
  record "$name" scan --format json "oci:$layout"
  recordings+=("$name")
done
recordings+=(serve)

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SNYK_PORT=$port SNYK_HOST=127.0.0.1 valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/serve.cg" \
  "$work/cr-agent" serve >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 300); do curl -fsS -o /dev/null "http://127.0.0.1:$port/healthcheck" 2>/dev/null && break; sleep 0.1; done
for path in /healthcheck /healthcheck /no-such-path; do curl -sS -o /dev/null "http://127.0.0.1:$port$path"; done
kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=

# Every function of the binary itself (not of libc or the loader: names its symbol table defines), in
# the order first seen, recordings in the order above.
nm --defined-only "$binary" | awk '{ print $3 }' | sort -u >"$work/symbols"
{
  echo "# Function order for the release link (scripts/build-release.sh); made by scripts/link-order.sh."
  for rec in "${recordings[@]}"; do sed -nE 's/^c?fn=\([0-9]+\) (.+)$/\1/p' "$work/$rec.cg"; done |
    awk '!seen[$0]++' | grep -Fx -f "$work/symbols"
} >deploy/link-order.txt
echo "link-order: $(grep -vc '^#' deploy/link-order.txt) functions in deploy/link-order.txt" >&2
