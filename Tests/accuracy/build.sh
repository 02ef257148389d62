#!/usr/bin/env bash
# Accuracy fixtures: build (or reuse from the cache) the test images, start the local registry (or reuse the
# one still running from the cache), push, and print one JSON object: refs, OCI layout dirs, docker-archive
# tarballs, sizes, timings and each image's expected outcome. Idempotent: a second run reuses everything.
#
#   Tests/accuracy/build.sh [--with-big] [--rebuild] [--no-push] [--cache-dir DIR] [--max-lifetime S]
#   Tests/accuracy/build.sh --stop          # stop the registry started by an earlier run
#
# Cache: $CR_ACCURACY_CACHE, else $XDG_CACHE_HOME/cr-agent-accuracy, else .build-accuracy/ in the repo,
# keyed by the SHA-256 of build_fixtures.py. Needs root (mmdebstrap's root mode) and scripts/deps.sh.
# Progress goes to stderr; stdout is only the JSON (also written to <cache>/<key>/fixtures.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "accuracy: .venv is missing: run scripts/deps.sh" >&2; exit 2; }
if [ "${1:-}" = "--stop" ]; then
  shift
  exec timeout -k 5 60 "$PY" Tests/accuracy/build_fixtures.py stop "$@"
fi
# The first build takes a few minutes (two mmdebstrap runs against the Debian mirror; --with-big also
# downloads OpenJDK); a cached run takes well under a second. One bound for the whole of it:
exec timeout -k 10 "${ACCURACY_BUILD_TIMEOUT:-2400}" "$PY" Tests/accuracy/build_fixtures.py build "$@"
