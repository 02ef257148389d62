#!/usr/bin/env bash
# Real application-package files for the cataloger tests: downloads a few Debian packages (apt-get
# download, no install) and unpacks them with dpkg-deb -x, once, into a cache directory; prints that
# directory. The packages carry Python dist-info/egg-info, npm package.json (plain and scoped), Maven
# jars, RubyGems specifications and a Go-built executable.
#
#   Tests/catalogers/app/debian.sh [cache-dir]     (default: $TMPDIR/cr-agent-app-fixtures)
set -euo pipefail
PACKAGES=(python3-six python3-idna python3-certifi python3-tomli python3-apt
          node-semver node-ms
          libcommons-lang3-java libslf4j-java libjackson2-core-java
          ruby-rack ruby-concurrent
          age)
cache=${1:-${TMPDIR:-/tmp}/cr-agent-app-fixtures}
root=$cache/root
stamp=$cache/.done
if [ "$(cat "$stamp" 2>/dev/null)" = "${PACKAGES[*]}" ]; then echo "$root"; exit 0; fi
mkdir -p "$cache/debs" "$root"
cd "$cache/debs"
missing=()
for p in "${PACKAGES[@]}"; do ls "${p}"_*.deb >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  # apt-get download needs package lists; a fresh machine may have none yet.
  if ! apt-get download "${missing[@]}" >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    apt-get download "${missing[@]}" >&2
  fi
fi
for p in "${PACKAGES[@]}"; do
  deb=$(ls "${p}"_*.deb | head -1)
  dpkg-deb -x "$deb" "$root"
done
echo "${PACKAGES[*]}" > "$stamp"
echo "$root"
