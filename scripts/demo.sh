#!/usr/bin/env bash
# The main job on a built-in default: builds cr-agent, starts it on 127.0.0.1, shows its
# healthcheck and metrics, then stops it with SIGTERM (a graceful drain). Needs no account.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build -c release --product cr-agent >&2
bin=.build/release/cr-agent
port=${SNYK_PORT:-17500}
log=$(mktemp)
SNYK_PORT=$port SNYK_HOST=127.0.0.1 "$bin" >"$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT INT TERM
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthcheck" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
echo "== GET http://127.0.0.1:$port/healthcheck"
curl -sS -i "http://127.0.0.1:$port/healthcheck"; echo
echo "== GET http://127.0.0.1:$port/metrics (first lines)"
curl -sS "http://127.0.0.1:$port/metrics" | head -n 8
echo "== stopping (SIGTERM drains in-flight requests)"
kill -TERM $pid; wait $pid; echo "exit status $?"
echo "== agent log"; cat "$log"
