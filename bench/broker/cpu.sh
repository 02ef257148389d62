#!/usr/bin/env bash
# CPU per tunnelled request of each hop (broker client, broker server, cr-agent), from /proc/<pid>/stat
# user and system time over one wrk run divided by the requests it made: a figure that does not depend
# on how loaded the machine is, unlike requests/s. Not a test; see bench/README.md.
#
#   BENCH_BIN_DIR=.build-release/release bench/broker/cpu.sh
#
# Environment: BENCH_BIN_DIR (required: cr-agent and broker), BENCH_SECONDS (5) for the wrk run,
# BENCH_CONNECTIONS (64). Servers on CPU 0, wrk on CPU 1, as run.sh's shared layout.
set -euo pipefail

cd "$(dirname "$0")/../.."
bin_dir=${BENCH_BIN_DIR:?set BENCH_BIN_DIR to the directory holding cr-agent and broker}
seconds=${BENCH_SECONDS:-5}
conns=${BENCH_CONNECTIONS:-64}
for tool in wrk curl python3 taskset; do
    command -v "$tool" >/dev/null || { echo "cpu.sh: $tool is missing" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-broker-cpu.XXXXXX")
started=()
cleanup() {
    local pid
    for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${started[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ok() {
    local end=$((SECONDS + 20))
    until curl -fsS --max-time 1 -o /dev/null "$1" 2>/dev/null; do
        [ $SECONDS -lt $end ] || { echo "cpu.sh: $1 did not answer; logs in $tmp" >&2; trap - EXIT; exit 1; }
        sleep 0.1
    done
}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }       # utime + stime, in clock ticks
user_ticks() { awk '{ print $14 }' "/proc/$1/stat"; }

agent_port=$(free_port); server_port=$(free_port); client_port=$(free_port)
token=$(python3 -c 'import uuid; print(uuid.uuid4())')
REACTOR_THREADS=1 SNYK_PORT=$agent_port LOG_LEVEL=warn taskset -c 0 "$bin_dir/cr-agent" serve >"$tmp/agent.log" 2>&1 &
agent_pid=$!; started+=($!)
PORT=$server_port BROKER_TOKENS=$token LOG_LEVEL=warn taskset -c 0 "$bin_dir/broker" server >"$tmp/server.log" 2>&1 &
server_pid=$!; started+=($!)
wait_ok "http://127.0.0.1:$agent_port/healthcheck"
wait_ok "http://127.0.0.1:$server_port/healthcheck"
BROKER_TOKEN=$token BROKER_SERVER_URL=http://127.0.0.1:$server_port BROKER_CLIENT_URL=http://127.0.0.1:$client_port \
CR_AGENT_URL=http://127.0.0.1:$agent_port CR_TYPE=docker-hub CR_USERNAME=bench CR_PASSWORD=bench-password \
PORT=$client_port LOG_LEVEL=warn taskset -c 0 "$bin_dir/broker" client >"$tmp/client.log" 2>&1 &
client_pid=$!; started+=($!)
wait_ok "http://127.0.0.1:$server_port/broker/$token/healthcheck"

hz=$(getconf CLK_TCK)
run() {                                            # url -> requests made
    taskset -c 1 wrk -t1 -c"$conns" -d"${seconds}s" "$1" 2>&1 |
        awk '/requests in/ { r = $1 } /Non-2xx/ { bad = $NF } END { if (bad > 0) { print "cpu.sh: " bad " failed" > "/dev/stderr" }; print r }'
}
per_request() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }'; }

pids=("$client_pid" "$server_pid" "$agent_pid"); names=("broker client" "broker server" "cr-agent")
declare -a before user_before
for i in 0 1 2; do before[i]=$(ticks "${pids[i]}"); user_before[i]=$(user_ticks "${pids[i]}"); done
n=$(run "http://127.0.0.1:$server_port/broker/$token/healthcheck")
echo "tunnelled /healthcheck, $conns connections, $seconds s: $n requests ($bin_dir)"
for i in 0 1 2; do
    t=$(( $(ticks "${pids[i]}") - before[i] )); u=$(( $(user_ticks "${pids[i]}") - user_before[i] ))
    printf "  %-14s %7s us/request (user %s, system %s)\n" "${names[i]}" "$(per_request "$t" "$n")" \
        "$(per_request "$u" "$n")" "$(per_request $((t - u)) "$n")"
done
a0=$(ticks "$agent_pid"); u0=$(user_ticks "$agent_pid")
n=$(run "http://127.0.0.1:$agent_port/healthcheck")
t=$(( $(ticks "$agent_pid") - a0 )); u=$(( $(user_ticks "$agent_pid") - u0 ))
echo "direct /healthcheck: $n requests"
printf "  %-14s %7s us/request (user %s, system %s)\n" "cr-agent" "$(per_request "$t" "$n")" "$(per_request "$u" "$n")" \
    "$(per_request $((t - u)) "$n")"
