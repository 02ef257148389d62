#!/usr/bin/env bash
# Builds cr-agent and broker as they ship and prints cr-agent's path (broker is beside it):
#   scripts/build-release.sh [--scratch-path DIR]      (default .build-release)
# - static Swift runtime; libcurl (HTTP/HTTPS only), OpenSSL, zlib, zstd, SQLite and libstdc++ linked in
#   from .build-deps (scripts/static-deps.sh), so at run time it maps only glibc's libraries;
# - linked by lld with packed relative relocations (a PIE whose relocation table is a few KiB, not a
#   MiB the loader reads at every start), identical-code folding, and the functions that a fetch, a
#   scan and the HTTP service run placed side by side (deploy/link-order.txt, made by
#   scripts/link-order.sh), so the pages they touch are fewer.
# Fails when the result still needs a shared library other than glibc's.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-release
while [ $# -gt 0 ]; do
  case $1 in
    --scratch-path) scratch=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-release: unknown option $1" >&2; exit 2 ;;
  esac
done
scripts/static-deps.sh

link=(-Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --icf=safe)
if [ -s deploy/link-order.txt ]; then
  link+=(-Xlinker --symbol-ordering-file="$PWD/deploy/link-order.txt" -Xlinker --no-warn-symbol-ordering)
fi
build=(swift build -c release --static-swift-stdlib --scratch-path "$scratch")
export PKG_CONFIG_PATH=$PWD/.build-deps/pkgconfig
binary=$("${build[@]}" --show-bin-path)/cr-agent
rm -f "$binary"      # relinked every time: the build system does not see a change in the order file
"${build[@]}" --product cr-agent "${link[@]}" >&2
"${build[@]}" --product broker -Xswiftc -use-ld=lld >&2     # beside it: $(dirname <printed path>)/broker
for b in "$binary" "$(dirname "$binary")/broker"; do
  extra=$(readelf -d "$b" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p' |
          grep -vE '^(libc|libm|libgcc_s|libpthread|libdl|librt)\.so|^ld-linux' || true)
  if [ -n "$extra" ]; then
    echo "build-release: $b still needs $(echo $extra | tr ' ' ','); .build-deps was not used" >&2
    exit 1
  fi
done
if [ -s deploy/link-order.txt ]; then   # how much of the recorded order still names functions of this code
  ordered=$(grep -vc '^#' deploy/link-order.txt)
  found=$(grep -v '^#' deploy/link-order.txt | sort -u |
          comm -12 - <(nm --defined-only "$binary" | awk '{ print $3 }' | sort -u) | wc -l)
  echo "build-release: $found of $ordered functions of deploy/link-order.txt placed" >&2
  if [ $((found * 10)) -lt $((ordered * 9)) ]; then
    echo "build-release: the order file is stale (under 90% found); regenerate it with scripts/link-order.sh" >&2
  fi
fi
echo "$binary"
