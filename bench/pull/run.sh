#!/usr/bin/env bash
# Pull benchmark: `cr-agent fetch` against `skopeo copy` of the same ~300 MB multi-layer image from a
# local docker-registry (not a test; see bench/README.md).
#
#   bench/pull/run.sh [--no-sweep]
#
# Environment: BENCH_REPEAT (3) runs per tool, the median is reported; BENCH_MEGABYTES (300) and
# BENCH_LAYERS (7) shape the image; BENCH_PARALLEL passes --parallel to cr-agent in the main table
# (default: cr-agent's own default); BENCH_SWEEP ("1 2 3 4 6") lists --parallel values for a second
# table (empty or --no-sweep skips it); BENCH_STRICT=1 exits 1 when a target is missed; BENCH_AGENT
# measures that cr-agent (a release build, scripts/build-release.sh) instead of building .build-bench.
# Raw outputs go to bench/out/pull-<time>/ (ignored by git); built layers are cached in
# bench/out/pull-cache/.
set -euo pipefail

cd "$(dirname "$0")/../.."
repeat=${BENCH_REPEAT:-3}
megabytes=${BENCH_MEGABYTES:-300}
layers=${BENCH_LAYERS:-7}
sweep=${BENCH_SWEEP-1 2 3 4 6}
parallel_args=()
[ -n "${BENCH_PARALLEL:-}" ] && parallel_args=(--parallel "$BENCH_PARALLEL")
for arg in "$@"; do
    case $arg in
        --no-sweep) sweep= ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

python=.venv/bin/python
for tool in skopeo /usr/bin/docker-registry "$python" timeout; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (scripts/deps.sh installs it)" >&2; exit 2; }
done
if [ ! -x /usr/bin/time ]; then                   # GNU time, for the peak RSS ("Maximum resident set size")
    echo "run.sh: installing GNU time (apt-get install time)"
    timeout 300 apt-get install -y -qq time >/dev/null || { echo "run.sh: cannot install GNU time" >&2; exit 2; }
fi

out=bench/out/pull-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-pull.XXXXXX")
shm=
if [ -d /dev/shm ] && [ -w /dev/shm ]; then shm=$(mktemp -d /dev/shm/bench-pull.XXXXXX); fi
registry_dir=$tmp/registry
registry_started=0

cleanup() {
    if [ "$registry_started" = 1 ]; then
        timeout 30 "$python" Tests/registry/fixture.py stop --dir "$registry_dir" >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
    [ -n "$shm" ] && rm -rf "$shm"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${BENCH_AGENT:-}" ]; then
    agent=$BENCH_AGENT
    [ -x "$agent" ] || { echo "run.sh: BENCH_AGENT=$agent is not an executable" >&2; exit 2; }
    echo "run.sh: measuring $agent (BENCH_AGENT)"
else
    echo "run.sh: building cr-agent as it ships (scripts/build-release.sh, .build-bench)"
    if ! agent=$(timeout 1800 scripts/build-release.sh --scratch-path .build-bench 2>"$out/build.log"); then
        tail -30 "$out/build.log" >&2
        exit 1
    fi
fi

echo "run.sh: starting docker-registry (no auth, plain HTTP, storage in $registry_dir)"
timeout 60 "$python" Tests/registry/fixture.py start --auth none --dir "$registry_dir" --detach --max-lifetime 1800 \
    >"$out/registry.json"
registry_started=1
url=$(jq -r .url "$registry_dir/fixture.json")
host=$(jq -r .host "$registry_dir/fixture.json")

echo "run.sh: building (or reusing) and pushing a ${megabytes} MB image of $layers gzip layers"
timeout 900 "$python" bench/pull/make_image.py --url "$url" --layers "$layers" --megabytes "$megabytes" \
    --out "$out/image.json" >/dev/null
image_ref=$(jq -r .reference "$out/image.json")
image_digest=$(jq -r .digest "$out/image.json")
image_bytes=$(jq -r .bytes "$out/image.json")

{
    echo "cr-agent: $("$agent" --version) (${BENCH_AGENT:-scripts/build-release.sh: static libcurl/OpenSSL, link order from deploy/link-order.txt})"
    echo "skopeo:   $(skopeo --version)"
    echo "registry: $(/usr/bin/docker-registry --version 2>&1 | head -1) at $url"
    echo "image:    $image_ref $image_digest, $(jq -r '.layers | length' "$out/image.json") layers," \
        "$image_bytes bytes compressed, $(jq -r .uncompressed_bytes "$out/image.json") uncompressed" \
        "(gzip ratio $(jq -r .ratio "$out/image.json")), layer sizes: $(jq -r '[.layers[].size] | map(tostring) | join(" ")' "$out/image.json")"
    echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-minute load average before the runs)"
    echo "machine:  $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem:/ { print $2 }') GB RAM; nothing pinned (the registry shares the CPUs)"
    echo "skopeo destinations: dir: on $(df --output=fstype "$tmp" | tail -1) ($tmp)${shm:+, dir: on tmpfs ($shm)}"
} | tee "$out/setup.txt"

# One measured run: `run_one <label> <file-stem> <command...>`; prints "<wall seconds> <max RSS KiB>
# <cpu seconds>" and fails the script when the command fails.
run_one() {
    local label=$1 stem=$2; shift 2
    local t0 t1 status=0
    t0=$(date +%s%N)
    timeout -k 5 600 /usr/bin/time -v -o "$out/$stem.time" "$@" >"$out/$stem.out" 2>"$out/$stem.err" || status=$?
    t1=$(date +%s%N)
    if [ "$status" != 0 ]; then
        echo "run.sh: $label failed (exit $status); see $out/$stem.err:" >&2
        tail -5 "$out/$stem.err" >&2
        exit 1
    fi
    awk -v ns=$((t1 - t0)) '
        /Maximum resident set size/ { rss = $NF }
        /User time \(seconds\)/ { cpu += $NF }
        /System time \(seconds\)/ { cpu += $NF }
        END { printf "%.3f %d %.2f\n", ns / 1e9, rss, cpu }' "$out/$stem.time"
}

ours() {                                          # ours <stem> [--parallel N]
    local stem=$1; shift
    CR_BASE=$url LOG_LEVEL=warn run_one "cr-agent fetch" "$stem" "$agent" fetch "$@" "$image_ref"
}

skopeo_to() {                                     # skopeo_to <stem> <destination dir>
    local stem=$1 dest=$2 r
    rm -rf "$dest"
    r=$(run_one "skopeo copy" "$stem" skopeo copy --quiet --retry-times 0 --src-tls-verify=false \
        "docker://$host/$image_ref" "dir:$dest")
    echo "$r"
    rm -rf "$dest"
}

# Warm-up (not measured): the registry's files into the page cache, both programs' pages too. The
# warm-up fetch also checks that cr-agent pulled the right image.
CR_BASE=$url timeout 600 "$agent" fetch --json "$image_ref" >"$out/warmup-ours.json"
if [ "$(jq -r .manifestDigest "$out/warmup-ours.json")" != "$image_digest" ] || [ "$(jq -r .bytes "$out/warmup-ours.json")" != "$image_bytes" ]; then
    echo "run.sh: cr-agent fetched something else than was pushed: $(cat "$out/warmup-ours.json")" >&2
    exit 1
fi
skopeo_to warmup-skopeo "$tmp/skopeo-warmup" >/dev/null

median() {                                        # median of the arguments
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}

tools=(ours skopeo-disk)
[ -n "$shm" ] && tools+=(skopeo-tmpfs)
declare -A walls rsss cpus
for rep in $(seq "$repeat"); do
    # Rotate the order so no tool always runs first (or right after another).
    order=("${tools[@]:$(( (rep - 1) % ${#tools[@]} ))}" "${tools[@]:0:$(( (rep - 1) % ${#tools[@]} ))}")
    for tool in "${order[@]}"; do
        case $tool in
            ours) r=$(ours "ours-r$rep" ${parallel_args[@]+"${parallel_args[@]}"}) ;;
            skopeo-disk) r=$(skopeo_to "skopeo-disk-r$rep" "$tmp/skopeo-dest") ;;
            skopeo-tmpfs) r=$(skopeo_to "skopeo-tmpfs-r$rep" "$shm/skopeo-dest") ;;
        esac
        read -r w m c <<<"$r"
        walls[$tool]="${walls[$tool]:-} $w"; rsss[$tool]="${rsss[$tool]:-} $m"; cpus[$tool]="${cpus[$tool]:-} $c"
    done
done

declare -A mw mr mc
for tool in "${tools[@]}"; do
    mw[$tool]=$(median ${walls[$tool]}); mr[$tool]=$(median ${rsss[$tool]}); mc[$tool]=$(median ${cpus[$tool]})
done
# The targets are checked against skopeo's better run of the two destinations (the stricter comparison).
best_wall=${mw[skopeo-disk]}; best_rss=${mr[skopeo-disk]}
if [ -n "$shm" ]; then
    best_wall=$(awk -v a="$best_wall" -v b="${mw[skopeo-tmpfs]}" 'BEGIN { print (b < a ? b : a) }')
    best_rss=$(awk -v a="$best_rss" -v b="${mr[skopeo-tmpfs]}" 'BEGIN { print (b < a ? b : a) }')
fi

label() {
    case $1 in
        ours) echo "cr-agent fetch${BENCH_PARALLEL:+ --parallel $BENCH_PARALLEL}" ;;
        skopeo-disk) echo "skopeo copy -> dir: (disk)" ;;
        skopeo-tmpfs) echo "skopeo copy -> dir: (tmpfs)" ;;
    esac
}

echo
echo "Pull of $image_ref ($image_bytes bytes compressed), median of $repeat runs each, alternating order"
printf '%-30s | %8s | %8s | %13s | %8s | %10s | %9s\n' tool "wall s" "MB/s" "peak RSS MiB" "CPU s" "wall ratio" "RSS ratio"
for tool in "${tools[@]}"; do
    printf '%-30s | %8.3f | %8.1f | %13.1f | %8.2f | %10.2f | %9.2f\n' "$(label "$tool")" "${mw[$tool]}" \
        "$(awk -v b="$image_bytes" -v w="${mw[$tool]}" 'BEGIN { print b / 1e6 / w }')" \
        "$(awk -v k="${mr[$tool]}" 'BEGIN { print k / 1024 }')" "${mc[$tool]}" \
        "$(awk -v a="${mw[$tool]}" -v b="$best_wall" 'BEGIN { print a / b }')" \
        "$(awk -v a="${mr[$tool]}" -v b="$best_rss" 'BEGIN { print a / b }')"
done
echo "(ratios are against skopeo's better destination: wall $best_wall s, peak RSS $(awk -v k="$best_rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB)"

misses=0
verdict() {                                       # verdict <description> <awk condition over a, b> <a> <b>
    if awk -v a="$3" -v b="$4" "BEGIN { exit !($2) }"; then echo "PASS  $1"; else echo "MISS  $1"; misses=$((misses + 1)); fi
}
echo
verdict "wall time: cr-agent ${mw[ours]} s <= skopeo $best_wall s" "a <= b" "${mw[ours]}" "$best_wall"
verdict "peak RSS: cr-agent $(awk -v k="${mr[ours]}" 'BEGIN { printf "%.1f", k / 1024 }') MiB < half of skopeo's $(awk -v k="$best_rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB" \
    "a < b / 2" "${mr[ours]}" "$best_rss"

# Where the resident memory is: one extra, untimed run per tool sampled every 2 ms (anonymous pages are
# the pull's own memory; file-backed pages are the executable and the shared libraries it maps).
echo
echo "Peak RSS split (one sampled run each; anonymous = heap and buffers, file = executable and libraries)"
printf '%-30s | %13s | %13s | %13s\n' tool "anon MiB" "file MiB" "VmHWM MiB"
split_row() {                                     # split_row <label> <command...>
    local label=$1 line; shift
    line=$(timeout -k 5 600 python3 bench/pull/rss_split.py --deadline 590 -- "$@" 2>&1 | tail -1)
    case $line in rss_anon_kib=*) ;; *) echo "run.sh: sampling $label failed: $line" >&2; return 0 ;; esac
    local rss_anon_kib rss_file_kib vm_hwm_kib samples status
    eval "$line"                                  # numbers only
    printf '%-30s | %13.1f | %13.1f | %13.1f\n' "$label" "$(awk -v k="$rss_anon_kib" 'BEGIN { print k / 1024 }')" \
        "$(awk -v k="$rss_file_kib" 'BEGIN { print k / 1024 }')" "$(awk -v k="$vm_hwm_kib" 'BEGIN { print k / 1024 }')"
}
CR_BASE=$url split_row "$(label ours)" "$agent" fetch ${parallel_args[@]+"${parallel_args[@]}"} "$image_ref"
split_dest=${shm:-$tmp}/skopeo-split
rm -rf "$split_dest"
split_row "skopeo copy -> dir:${shm:+ (tmpfs)}" skopeo copy --quiet --retry-times 0 --src-tls-verify=false "docker://$host/$image_ref" "dir:$split_dest"
rm -rf "$split_dest"
floor_kib() { /usr/bin/time -f %M -o "$out/floor.time" "$@" >/dev/null 2>&1; tail -1 "$out/floor.time"; }
echo "start-up floor (peak RSS of --version, which only loads the program): cr-agent" \
    "$(awk -v k="$(floor_kib "$agent" --version)" 'BEGIN { printf "%.1f", k / 1024 }') MiB," \
    "skopeo $(awk -v k="$(floor_kib skopeo --version)" 'BEGIN { printf "%.1f", k / 1024 }') MiB"

if [ -n "$sweep" ]; then
    echo
    echo "cr-agent fetch --parallel N (median of $repeat runs each)"
    printf '%-10s | %8s | %8s | %13s | %8s\n' parallel "wall s" "MB/s" "peak RSS MiB" "CPU s"
    for p in $sweep; do
        ws=() ms=() cs=()
        for rep in $(seq "$repeat"); do
            r=$(ours "sweep-p$p-r$rep" --parallel "$p")
            read -r w m c <<<"$r"
            ws+=("$w"); ms+=("$m"); cs+=("$c")
        done
        w=$(median "${ws[@]}")
        printf '%-10s | %8.3f | %8.1f | %13.1f | %8.2f\n' "$p" "$w" "$(awk -v b="$image_bytes" -v w="$w" 'BEGIN { print b / 1e6 / w }')" \
            "$(awk -v k="$(median "${ms[@]}")" 'BEGIN { print k / 1024 }')" "$(median "${cs[@]}")"
    done
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
