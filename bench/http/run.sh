#!/usr/bin/env bash
# HTTP benchmark: cr-agent's /healthcheck against nginx returning the same JSON body (not a test; see
# bench/README.md).
#
#   bench/http/run.sh [--pipeline] [--trickle] [--no-idle] [--no-throughput]
#
# Environment: BENCH_SECONDS (10) per wrk run, BENCH_CONNECTIONS ("1 64 1024"), BENCH_PIPELINE=1 (same
# as --pipeline) with BENCH_PIPELINE_DEPTH (16), BENCH_TRICKLE=1 (same as --trickle) with
# BENCH_TRICKLE_HEADS (40), BENCH_IDLE_CONNECTIONS (10000), BENCH_REPEAT (1; each
# cell becomes the median of that many runs), BENCH_STRICT=1 to exit 1 when a target is missed.
# Raw outputs go to bench/out/http-<time>/ (ignored by git).
set -euo pipefail

cd "$(dirname "$0")/../.."
bench_seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-1 64 1024}
pipeline=${BENCH_PIPELINE:-0}
depth=${BENCH_PIPELINE_DEPTH:-16}
idle=1
throughput=1
idle_count=${BENCH_IDLE_CONNECTIONS:-10000}
repeat=${BENCH_REPEAT:-1}
trickle=${BENCH_TRICKLE:-0}
trickle_heads=${BENCH_TRICKLE_HEADS:-40}
for arg in "$@"; do
    case $arg in
        --pipeline) pipeline=1 ;;
        --trickle) trickle=1 ;;
        --no-idle) idle=0 ;;
        --no-throughput) throughput=0 ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

nginx_bin=/usr/sbin/nginx
for tool in "$nginx_bin" wrk taskset python3 curl; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (scripts/deps.sh installs it)" >&2; exit 2; }
done

# 1024 wrk connections plus 10,000 idle ones need far more descriptors than the usual 1024.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((idle_count + 2048)) ]; then
    echo "run.sh: warning: ulimit -n is $(ulimit -n); the idle and 1024-connection runs may fail" >&2
fi

# Both servers share CPU 0 and the load generator gets CPU 1, so neither server can use more than one core.
if [ "$(nproc)" -ge 2 ]; then
    server_pin=(taskset -c 0)
    client_pin=(taskset -c 1)
    pinning="servers on CPU 0, clients on CPU 1"
else
    server_pin=()
    client_pin=()
    pinning="one CPU: no pinning (servers and clients compete)"
fi

out=bench/out/http-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-http.XXXXXX")
started=()

stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do                         # up to 5 s, then SIGKILL
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
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

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() {                                    # port pid name; gives up after 15 s
    local port=$1 pid=$2 name=$3 end=$((SECONDS + 15))
    while [ $SECONDS -lt $end ]; do
        kill -0 "$pid" 2>/dev/null || { echo "run.sh: $name exited at start-up; see $out" >&2; exit 1; }
        curl -fsS --max-time 1 -o /dev/null "http://127.0.0.1:$port/healthcheck" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "run.sh: $name did not answer on port $port within 15 s" >&2
    exit 1
}

echo "run.sh: building cr-agent (release, .build-bench)"
if ! swift build -c release --static-swift-stdlib --scratch-path .build-bench --product cr-agent >"$out/build.log" 2>&1; then
    tail -30 "$out/build.log" >&2
    exit 1
fi
agent=.build-bench/release/cr-agent

# Starts cr-agent with one reactor thread; sets ours_pid and ours_port.
start_ours() {
    ours_port=$(free_port)
    REACTOR_THREADS=1 SNYK_PORT=$ours_port HTTP_IDLE_TIMEOUT_MS=600000 LOG_LEVEL=warn \
        "${server_pin[@]}" "$agent" serve >>"$out/cr-agent.log" 2>&1 &
    ours_pid=$!
    started+=("$ours_pid")
    wait_ready "$ours_port" "$ours_pid" cr-agent
}

# Starts nginx (one process: no master, no daemon) answering /healthcheck with cr-agent's exact body;
# sets nginx_pid and nginx_port.
start_nginx() {
    nginx_port=$(free_port)
    local dir=$tmp/nginx-$nginx_port
    mkdir -p "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile 65536;
events {
    worker_connections $((idle_count + 4096));
}
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 600s;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        location = /healthcheck {
            default_type application/json;
            return 200 '$body';
        }
    }
}
EOF
    "${server_pin[@]}" "$nginx_bin" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" >>"$out/nginx.log" 2>&1 &
    nginx_pid=$!
    started+=("$nginx_pid")
    wait_ready "$nginx_port" "$nginx_pid" nginx
}

stop_servers() {
    stop_pid "$ours_pid"
    stop_pid "$nginx_pid"
}

start_ours
body=$(curl -fsS --max-time 5 "http://127.0.0.1:$ours_port/healthcheck")
case $body in *"'"*) echo "run.sh: the body contains a quote nginx's return cannot hold: $body" >&2; exit 1 ;; esac
start_nginx
ours_bytes=$(curl -fsS --max-time 5 -D - "http://127.0.0.1:$ours_port/healthcheck" | wc -c)
nginx_bytes=$(curl -fsS --max-time 5 -D - "http://127.0.0.1:$nginx_port/healthcheck" | wc -c)
{
    echo "cr-agent: $("$agent" --version), pid $ours_pid, port $ours_port"
    echo "nginx:    $("$nginx_bin" -v 2>&1), pid $nginx_pid, port $nginx_port"
    echo "wrk:      $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
    echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-minute load average before the runs)"
    echo "machine:  $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $pinning"
    echo "body:     $body (response with head: cr-agent $ours_bytes bytes, nginx $nginx_bytes bytes)"
} | tee "$out/setup.txt"

misses=0

# Runs wrk; prints "<req/s> <p99 in µs> <errors>". Extra arguments go to wrk before the URL; arguments
# after "--" go to its script.
run_wrk() {
    local file=$1 conns=$2; shift 2
    local threads=1
    [ "$conns" -ge 1024 ] && threads=2
    timeout -k 5 $((bench_seconds + 60)) "${client_pin[@]}" wrk --latency -t"$threads" -c"$conns" -d"${bench_seconds}s" \
        --timeout 10s "$@" >"$file" 2>&1 || true
    awk '
        /^Requests\/sec:/ { rps = $2 }
        $1 == "99%" {
            v = $2
            if (v ~ /us$/) { sub(/us$/, "", v); p99 = v }
            else if (v ~ /ms$/) { sub(/ms$/, "", v); p99 = v * 1000 }
            else if (v ~ /s$/) { sub(/s$/, "", v); p99 = v * 1000000 }
        }
        /Socket errors:/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { errors += $NF }
        END { printf "%s %s %d\n", (rps == "" ? "0" : rps), (p99 == "" ? "0" : p99), errors }
    ' "$file"
}

fmt_us() {                                        # µs -> "123us" / "1.23ms"; 0 (wrk had none) -> n/a
    awk -v v="$1" 'BEGIN { if (v <= 0) print "n/a"; else if (v >= 1000) printf "%.2fms", v / 1000; else printf "%.0fus", v }'
}

median() {                                        # median of the arguments; 0 when there are none
    [ $# -eq 0 ] && { echo 0; return; }
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}

nonzero() {                                       # the arguments other than 0 (p99 = 0: wrk had no value)
    local v
    for v in "$@"; do awk -v v="$v" 'BEGIN { exit !(v > 0) }' && echo "$v"; done
    return 0
}

# One table: connections | ours req/s | nginx req/s | ratio | ours p99 | nginx p99 | p99 ratio | targets.
# With BENCH_REPEAT=N each cell is the median of N runs, the two servers alternating which goes first.
# check_p99=0 (pipelined runs) leaves the latency target out: wrk then records one sample per batch.
throughput_table() {
    local title=$1 tag=$2 check_p99=$3; shift 3
    local conns rep ours_rps ours_p99 ours_err nginx_rps nginx_p99 nginx_err
    echo
    echo "$title (${bench_seconds}s per run, median of $repeat)"
    printf '%-11s | %12s | %12s | %6s | %9s | %9s | %9s | %s\n' \
        connections "ours req/s" "nginx req/s" ratio "ours p99" "nginx p99" "p99 ratio" \
        "targets (req/s >= nginx$([ "$check_p99" = 1 ] && echo ', p99 <= 1.5x'))"
    for conns in $connections; do
        local o_rps=() o_p99=() n_rps=() n_p99=() o_err=0 n_err=0 order
        for rep in $(seq "$repeat"); do
            order="ours nginx"
            [ $((rep % 2)) = 0 ] && order="nginx ours"
            for server in $order; do
                local port=$ours_port
                [ "$server" = nginx ] && port=$nginx_port
                read -r rps p99 err < <(run_wrk "$out/wrk-$tag-$server-c$conns-r$rep.txt" "$conns" "$@" \
                    "http://127.0.0.1:$port/healthcheck" ${wrk_script_args[@]+"${wrk_script_args[@]}"})
                if [ "$server" = ours ]; then o_rps+=("$rps"); o_p99+=("$p99"); o_err=$((o_err + err))
                else n_rps+=("$rps"); n_p99+=("$p99"); n_err=$((n_err + err)); fi
            done
        done
        ours_rps=$(median "${o_rps[@]}"); ours_p99=$(median $(nonzero "${o_p99[@]}"))
        nginx_rps=$(median "${n_rps[@]}"); nginx_p99=$(median $(nonzero "${n_p99[@]}"))
        local verdict
        verdict=$(awk -v a="$ours_rps" -v b="$nginx_rps" -v pa="$ours_p99" -v pb="$nginx_p99" -v cp="$check_p99" 'BEGIN {
            t1 = (a >= b); t2 = (!cp || pa <= 1.5 * pb)
            printf "%s%s %s", (t1 ? "req/s ok" : "req/s MISSED"), (cp ? (t2 ? ", p99 ok" : ", p99 MISSED") : ""), (t1 && t2 ? 0 : 1) }')
        misses=$((misses + ${verdict##* }))
        verdict=${verdict% *}
        [ "$o_err" -gt 0 ] && verdict="$verdict; ours: $o_err errors"
        [ "$n_err" -gt 0 ] && verdict="$verdict; nginx: $n_err errors"
        printf '%-11s | %12.0f | %12.0f | %6.2f | %9s | %9s | %9s | %s\n' "$conns" "$ours_rps" "$nginx_rps" \
            "$(awk -v a="$ours_rps" -v b="$nginx_rps" 'BEGIN { print (b > 0 ? a / b : 0) }')" \
            "$(fmt_us "$ours_p99")" "$(fmt_us "$nginx_p99")" \
            "$(awk -v a="$ours_p99" -v b="$nginx_p99" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "n/a" }')" "$verdict"
    done
}

# Idle keep-alive connections: RSS growth per connection, on freshly started servers (so that memory
# freed by earlier runs cannot be reused and hide the cost).
idle_row() {
    local name=$1 port=$2 pid=$3 line
    local connections alive failures open_seconds rss_before_kib rss_after_kib hwm_kib kib_per_conn
    line=$(timeout -k 5 300 "${client_pin[@]}" python3 bench/http/idle_conns.py --port "$port" --pid "$pid" \
        --count "$idle_count" --deadline 240 2>&1 | tee "$out/idle-$name.txt" | tail -1)
    case $line in
        connections=*) ;;
        *) echo "run.sh: idle test against $name failed: $line" >&2; printf '%-9s | failed\n' "$name"; misses=$((misses + 1)); return ;;
    esac
    eval "$line"                                  # numbers only: connections= alive= ... kib_per_conn=
    idle_kib=$kib_per_conn
    printf '%-9s | %11s | %5s | %8s | %14s | %13s | %12s\n' "$name" "$connections" "$alive" "$failures" \
        "$rss_before_kib" "$rss_after_kib" "$kib_per_conn"
}

if [ "$idle" = 1 ]; then
    echo
    echo "Idle keep-alive connections: $idle_count connections, one GET each, then held open"
    printf '%-9s | %11s | %5s | %8s | %14s | %13s | %12s\n' server connections alive failures "RSS before KiB" "RSS after KiB" "KiB per conn"
    idle_kib=
    idle_row cr-agent "$ours_port" "$ours_pid"
    ours_kib=$idle_kib
    idle_row nginx "$nginx_port" "$nginx_pid"
    if awk -v k="${ours_kib:-99}" 'BEGIN { exit !(k < 8) }'; then
        echo "target (cr-agent < 8 KiB per idle connection): ok ($ours_kib KiB)"
    else
        echo "target (cr-agent < 8 KiB per idle connection): MISSED (${ours_kib:-?} KiB)"
        misses=$((misses + 1))
    fi
    stop_servers
    start_ours
    start_nginx
fi

if [ "$throughput" = 1 ]; then
    # A short warm-up of each server (page faults, first allocations), not measured.
    for port in "$ours_port" "$nginx_port"; do
        timeout -k 5 30 "${client_pin[@]}" wrk -t1 -c64 -d1s "http://127.0.0.1:$port/healthcheck" >/dev/null 2>&1 || true
    done
    wrk_script_args=()
    throughput_table "GET /healthcheck, one request at a time per connection" plain 1
    if [ "$pipeline" = 1 ]; then
        wrk_script_args=(-- "$depth")
        throughput_table "GET /healthcheck, $depth pipelined requests per write (p99: per batch of $depth)" \
            pipelined 0 -s bench/http/pipeline.lua
    fi
fi

if [ "$trickle" = 1 ]; then
    # Request heads sent one byte per write, at N and 4N bytes: the server's CPU time per head should
    # grow about 4x (linear parsing), and stay near nginx's (whose parser is incremental).
    echo
    echo "Trickled request heads, one byte per write ($trickle_heads heads each; server CPU time per head)"
    printf '%-10s | %10s | %10s | %11s\n' "head bytes" "ours ms" "nginx ms" "ours/nginx"
    trickle_ms=()
    for n in 1500 6000; do
        o=$(timeout -k 5 300 "${client_pin[@]}" python3 bench/http/trickle.py "$ours_port" "$ours_pid" "$n" "$trickle_heads" | sed -n 's/^ms_per_head=//p')
        g=$(timeout -k 5 300 "${client_pin[@]}" python3 bench/http/trickle.py "$nginx_port" "$nginx_pid" "$n" "$trickle_heads" | sed -n 's/^ms_per_head=//p')
        trickle_ms+=("$o")
        printf '%-10s | %10s | %10s | %11s\n' "$((n + 47))" "${o:-?}" "${g:-?}" "$(awk -v a="${o:-0}" -v b="${g:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
    done
    echo "ours 4N/N: $(awk -v a="${trickle_ms[0]:-0}" -v b="${trickle_ms[1]:-0}" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "n/a" }') (linear: ~4)"
fi

echo
echo "raw output: $out"
if [ "$misses" -gt 0 ]; then
    echo "targets missed: $misses"
    [ "${BENCH_STRICT:-0}" = 1 ] && exit 1
else
    echo "all targets held"
fi
exit 0
