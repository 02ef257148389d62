#!/usr/bin/env bash
# The whole system on one machine, as a platform team would try it: installs what the demo needs
# (scripts/deps.sh --demo), builds the release binaries, builds a few real images (cached in
# .build-demo/images), starts on 127.0.0.1 a docker-registry with a password, cr-agent serve, a broker
# server and a broker client, then plays the outside service: lists the registry through
# /broker/<token>/list, asks for scans, receives the results through the server's relay and prints a
# summary; the full reports go to .build-demo/reports/. Every process it starts is stopped at the end,
# also on Ctrl-C. A second run reuses the binaries and the images. Details: docs/demo.md.
#
# For tests: DEMO_RELEASE_DIR=<dir with cr-agent and broker> skips the release build; DEMO_IMAGE_CACHE,
# DEMO_STATE_DIR, DEMO_REPORTS_DIR move the image cache, the state and the reports.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "demo: installing what the demo needs (scripts/deps.sh --demo)" >&2
scripts/deps.sh --demo || { echo "demo: scripts/deps.sh --demo failed (its messages are above)" >&2; exit 1; }
if [ -n "${DEMO_RELEASE_DIR:-}" ]; then
  bin_dir=$DEMO_RELEASE_DIR
else
  echo "demo: building the release binaries (scripts/build-release.sh; minutes the first time)" >&2
  agent=$(scripts/build-release.sh) || { echo "demo: the release build failed (its messages are above)" >&2; exit 1; }
  bin_dir=$(dirname "$agent")
fi
cd scripts/demo
exec ../../.venv/bin/python run.py "$bin_dir"     # every wait in it is bounded
