#!/usr/bin/env bash
# Broker benchmark: requests through broker server -> broker client -> origin against the origin called
# directly, in one script (not a test; see bench/README.md).
#
#   bench/broker/run.sh
#
# 1. Streamed throughput: a 1 GiB file served by nginx, reached through a custom ACCEPT rule
#    (/broker/<token>/files/*), against nginx directly. Target: at least 70 % of direct.
# 2. Small requests: the agent's /healthcheck through the tunnel against the agent directly, with wrk at
#    1, 64 and 512 connections. Targets: added p50 latency under 0.5 ms at 1; requests/s at least 50 % of
#    direct at 64 and 512.
# 3. The broker client's RSS sampled every 100 ms during all of it. Target: flat and under 32 MB.
# 1 and 2 also run through the peer, two nginx hops in the same layout (a lean C relay with no tunnel
# protocol): its ratio to direct is what any two-hop relay reaches on this machine, printed beside ours.
#
# Environment: BENCH_SECONDS (10) per wrk run, BENCH_CONNECTIONS ("1 64 512"), BENCH_FILE_MB (1024),
# BENCH_LAYOUTS ("shared split", see below), BENCH_BIN_DIR (use the cr-agent and broker there instead of building them), BENCH_STRICT=1 exits 1
# when a target is missed. Raw outputs go to bench/out/broker-<time>/.
set -euo pipefail

cd "$(dirname "$0")/../.."
bench_seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-1 64 512}
file_mb=${BENCH_FILE_MB:-1024}
nginx_bin=/usr/sbin/nginx
for tool in "$nginx_bin" wrk curl python3 taskset; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (scripts/deps.sh installs it)" >&2; exit 2; }
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

out=bench/out/broker-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-broker.XXXXXX")
started=()
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in "${started[@]}"; do stop_pid "$pid"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ok() {                                       # url pid name; gives up after 20 s
    local url=$1 pid=$2 name=$3 end=$((SECONDS + 20))
    while [ $SECONDS -lt $end ]; do
        kill -0 "$pid" 2>/dev/null || { echo "run.sh: $name exited at start-up; see $out/$name.log" >&2; exit 1; }
        curl -fsS --max-time 1 -o /dev/null "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "run.sh: $name did not answer $url within 20 s; see $out/$name.log" >&2
    exit 1
}

# Servers on CPU 0 (each hop gets the same core, as a small box would), load generators on CPU 1.
if [ "$(nproc)" -ge 2 ]; then server_pin=(taskset -c 0); client_pin=(taskset -c 1); else server_pin=(); client_pin=(); fi

if [ -n "${BENCH_BIN_DIR:-}" ]; then
    bin_dir=$BENCH_BIN_DIR
else
    echo "run.sh: building cr-agent and broker (release, scripts/build-release.sh)"
    if ! release=$(scripts/build-release.sh 2>"$out/build.log"); then tail -30 "$out/build.log" >&2; exit 1; fi
    bin_dir=$(dirname "$release")
fi
agent=$bin_dir/cr-agent
broker=$bin_dir/broker
[ -x "$broker" ] || { echo "run.sh: $broker was not built" >&2; exit 1; }

# nginx serving the big file (sendfile: the fastest origin there is).
head -c $((file_mb << 20)) /dev/urandom >"$tmp/big.bin"
nginx_port=$(free_port)
mkdir -p "$tmp/nginx/tmp" "$tmp/www/files"
mv "$tmp/big.bin" "$tmp/www/files/big.bin"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $tmp/nginx/tmp/body;
    proxy_temp_path $tmp/nginx/tmp/proxy;
    fastcgi_temp_path $tmp/nginx/tmp/fastcgi;
    uwsgi_temp_path $tmp/nginx/tmp/uwsgi;
    scgi_temp_path $tmp/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        root $tmp/www;
        location = /healthcheck { default_type application/json; return 200 '{"ok":true}'; }
    }
}
EOF
"${server_pin[@]}" "$nginx_bin" -p "$tmp/nginx/" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" >"$out/nginx.log" 2>&1 &
started+=($!); wait_ok "http://127.0.0.1:$nginx_port/healthcheck" "$!" nginx

agent_port=$(free_port)
relay_server_port=$(free_port); relay_client_port=$(free_port)
REACTOR_THREADS=1 SNYK_PORT=$agent_port LOG_LEVEL=warn "${server_pin[@]}" "$agent" serve >"$out/cr-agent.log" 2>&1 &
started+=($!); wait_ok "http://127.0.0.1:$agent_port/healthcheck" "$!" cr-agent

token=$(python3 -c 'import uuid; print(uuid.uuid4())')
server_port=$(free_port)
PORT=$server_port BROKER_TOKENS=$token LOG_LEVEL=warn "${server_pin[@]}" "$broker" server >"$out/broker-server.log" 2>&1 &
server_pid=$!
started+=($!); wait_ok "http://127.0.0.1:$server_port/healthcheck" "$!" broker-server

# The client's filter: the agent's routes as the default filter has them, and the files on nginx.
cat >"$tmp/accept.json" <<EOF
{"public": [],
 "private": [
   {"method": "GET", "path": "/healthcheck", "origin": "http://127.0.0.1:$agent_port"},
   {"method": "GET", "path": "/files/*", "origin": "http://127.0.0.1:$nginx_port"}]}
EOF
client_port=$(free_port)
BROKER_TOKEN=$token BROKER_SERVER_URL=http://127.0.0.1:$server_port BROKER_CLIENT_URL=http://127.0.0.1:$client_port \
CR_AGENT_URL=http://127.0.0.1:$agent_port CR_TYPE=docker-hub CR_USERNAME=bench CR_PASSWORD=bench-password \
PORT=$client_port ACCEPT=$tmp/accept.json LOG_LEVEL=warn \
    "${server_pin[@]}" "$broker" client >"$out/broker-client.log" 2>&1 &
client_pid=$!
started+=("$client_pid"); wait_ok "http://127.0.0.1:$client_port/healthcheck" "$client_pid" broker-client
wait_ok "http://127.0.0.1:$server_port/broker/$token/healthcheck" "$client_pid" broker-client

# The relay peer: the same two hops made of nginx (one worker each, keep-alive upstreams, no buffering),
# a "server" nginx proxying /broker/<token>/ to a "client" nginx that adds the credentials and proxies to
# the agent and the file origin. No tunnel protocol, no filter: what a lean two-hop relay costs on this
# machine in the same layout, the ceiling the tunnel's ratios can be read against.
relay_nginx() {                                   # name listen-port locations
    mkdir -p "$tmp/$1/tmp"
    cat >"$tmp/$1/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $tmp/$1/nginx.pid;
error_log $tmp/$1/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $tmp/$1/tmp/body;
    proxy_temp_path $tmp/$1/tmp/proxy;
    fastcgi_temp_path $tmp/$1/tmp/fastcgi;
    uwsgi_temp_path $tmp/$1/tmp/uwsgi;
    scgi_temp_path $tmp/$1/tmp/scgi;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_buffering off;
    proxy_buffer_size 256k;
    proxy_buffers 4 256k;
    proxy_busy_buffers_size 256k;
    upstream agent { server 127.0.0.1:$agent_port; keepalive 128; }
    upstream files { server 127.0.0.1:$nginx_port; keepalive 16; }
    upstream relay_client { server 127.0.0.1:$relay_client_port; keepalive 128; }
    server {
        listen 127.0.0.1:$2 backlog=4096;
        $3
    }
}
EOF
    "${server_pin[@]}" "$nginx_bin" -p "$tmp/$1/" -c "$tmp/$1/nginx.conf" -e "$tmp/$1/error.log" >"$out/$1.log" 2>&1 &
    started+=($!)
}
relay_nginx relay-client "$relay_client_port" '
        location /healthcheck { proxy_set_header Authorization "Basic YmVuY2g6YmVuY2gtcGFzc3dvcmQ="; proxy_pass http://agent; }
        location /files/ { proxy_set_header Authorization "Basic YmVuY2g6YmVuY2gtcGFzc3dvcmQ="; proxy_pass http://files; }'
relay_nginx relay-server "$relay_server_port" "
        location /broker/$token/ { proxy_pass http://relay_client/; }"
relay_server_pid=$!
wait_ok "http://127.0.0.1:$relay_server_port/broker/$token/healthcheck" "$relay_server_pid" relay-server

# RSS of the broker client, every 100 ms, into a file (kB per line).
( while kill -0 "$client_pid" 2>/dev/null; do
      awk '/^VmRSS:/ { print $2 }' "/proc/$client_pid/status" 2>/dev/null || true
      sleep 0.1
  done ) >"$out/client-rss.txt" &
started+=($!)
rss_idle=$(awk '/^VmRSS:/ { print $2 }' "/proc/$client_pid/status")

{
    echo "broker:   $("$broker" --version), client pid $client_pid"
    echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-minute load average before the runs)"
    echo "machine:  $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
} | tee "$out/setup.txt"

misses=0
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "n/a"; else printf "%.2f", a / b }'; }
check() {                                        # name, value, op, target
    local ok
    ok=$(awk -v v="$2" -v t="$4" -v op="$3" 'BEGIN { if (v == "n/a") print 0; else if (op == ">=") print (v >= t); else print (v < t) }')
    if [ "$ok" = 1 ]; then echo "  $1: $2 (target $3 $4) ok"; else echo "  $1: $2 (target $3 $4) MISSED"; misses=$((misses + 1)); fi
}

# 1. Streamed throughput (median of three, MB/s).
stream_mbps() {
    local url=$1 i
    for i in 1 2 3; do
        "${client_pin[@]}" curl -fsS --max-time 300 -o /dev/null -w '%{speed_download}\n' "$url"
    done | sort -n | sed -n 2p | awk '{ printf "%.0f", $1 / 1048576 }'
}
got=$(curl -fsS --max-time 300 "http://127.0.0.1:$server_port/broker/$token/files/big.bin" | sha256sum | cut -d' ' -f1)
want=$(sha256sum "$tmp/www/files/big.bin" | cut -d' ' -f1)
[ "$got" = "$want" ] || { echo "run.sh: the file came through the tunnel changed" >&2; exit 1; }
run_wrk() {                                       # file conns url -> "<req/s> <p50 us> <errors>"
    local file=$1 conns=$2 url=$3 threads=1
    [ "$conns" -ge 512 ] && threads=2
    timeout -k 5 $((bench_seconds + 60)) "${client_pin[@]}" wrk --latency -t"$threads" -c"$conns" -d"${bench_seconds}s" \
        --timeout 10s "$url" >"$file" 2>&1 || true
    awk '
        /^Requests\/sec:/ { rps = $2 }
        $1 == "50%" {
            v = $2
            if (v ~ /us$/) { sub(/us$/, "", v); p50 = v }
            else if (v ~ /ms$/) { sub(/ms$/, "", v); p50 = v * 1000 }
            else if (v ~ /s$/) { sub(/s$/, "", v); p50 = v * 1000000 }
        }
        /Socket errors:/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { errors += $NF }
        END { printf "%s %s %d\n", (rps == "" ? "0" : rps), (p50 == "" ? "0" : p50), errors }
    ' "$file"
}
measure_layout() {                                # label
echo
echo "== layout: $1"
direct_mbps=$(stream_mbps "http://127.0.0.1:$nginx_port/files/big.bin")
tunnel_mbps=$(stream_mbps "http://127.0.0.1:$server_port/broker/$token/files/big.bin")
relay_mbps=$(stream_mbps "http://127.0.0.1:$relay_server_port/broker/$token/files/big.bin")
echo "Streamed ${file_mb} MiB (median of 3): direct ${direct_mbps} MB/s, through the tunnel ${tunnel_mbps} MB/s"
echo "  peer: two nginx hops ${relay_mbps} MB/s, $(ratio "$relay_mbps" "$direct_mbps") of direct; the tunnel $(ratio "$tunnel_mbps" "$relay_mbps") of the nginx relay"
check "tunnel / direct" "$(ratio "$tunnel_mbps" "$direct_mbps")" ">=" 0.70

# 2. Small requests.
echo
printf "%-12s %14s %14s %10s %12s %12s %8s %14s %8s\n" connections "direct req/s" "tunnel req/s" ratio "direct p50" "tunnel p50" errors \
    "nginx 2-hop" ratio
for c in $connections; do
    read -r d_rps d_p50 d_err < <(run_wrk "$out/wrk-$1-direct-$c.txt" "$c" "http://127.0.0.1:$agent_port/healthcheck")
    read -r t_rps t_p50 t_err < <(run_wrk "$out/wrk-$1-tunnel-$c.txt" "$c" "http://127.0.0.1:$server_port/broker/$token/healthcheck")
    read -r r_rps _ _ < <(run_wrk "$out/wrk-$1-relay-$c.txt" "$c" "http://127.0.0.1:$relay_server_port/broker/$token/healthcheck")
    printf "%-12s %14s %14s %10s %10sus %10sus %8s %14s %8s\n" "$c" "$d_rps" "$t_rps" "$(ratio "$t_rps" "$d_rps")" "$d_p50" "$t_p50" \
        "$((d_err + t_err))" "$r_rps" "$(ratio "$r_rps" "$d_rps")"
    if [ "$c" = 1 ]; then added=$(awk -v a="$t_p50" -v b="$d_p50" 'BEGIN { printf "%.3f", (a - b) / 1000 }'); fi
    if [ "$c" != 1 ]; then results+=("$c $(ratio "$t_rps" "$d_rps")"); fi
    [ "$t_err" = 0 ] || echo "  $t_err errors through the tunnel at $c connections (see $out/wrk-$1-tunnel-$c.txt)"
done
[ -n "${added:-}" ] && check "added p50 at 1 connection (ms)" "$added" "<" 0.5
for r in "${results[@]}"; do set -- $r; check "tunnel / direct req/s at $1" "$2" ">=" 0.50; done
results=()
}


# Layouts: "shared" is every server on CPU 0 (three single-threaded hops and the origin on one core,
# as a small box would run them); "split" moves the broker server onto CPU 1 beside the load generator,
# so the client and its origin share CPU 0 as on the client's own machine, and the server has its own
# core, as a deployment across two machines has it. The direct rows run the same way in both.
for layout in ${BENCH_LAYOUTS:-shared split}; do
    case $layout in
        shared) [ "$(nproc)" -ge 2 ] && taskset -apc 0 "$server_pid" >/dev/null && taskset -apc 0 "$relay_server_pid" >/dev/null ;;
        split) [ "$(nproc)" -ge 2 ] && taskset -apc 1 "$server_pid" >/dev/null && taskset -apc 1 "$relay_server_pid" >/dev/null ;;
        *) echo "run.sh: unknown layout $layout (shared, split)" >&2; exit 2 ;;
    esac
    measure_layout "$layout"
done

# 3. The client's memory.
rss_peak=$(sort -n "$out/client-rss.txt" | tail -1)
rss_end=$(awk '/^VmRSS:/ { print $2 }' "/proc/$client_pid/status")
echo
echo "broker client RSS: idle $((rss_idle / 1024)) MiB, peak $((rss_peak / 1024)) MiB, after the runs $((rss_end / 1024)) MiB"
check "client peak RSS (MiB)" "$((rss_peak / 1024))" "<" 32

echo
echo "raw outputs: $out"
if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$misses" -gt 0 ]; then exit 1; fi
