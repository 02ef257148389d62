#!/usr/bin/env bash
# The main job on a built-in default, with no account and no outside registry: starts the reference
# registry (Debian's docker-registry) on 127.0.0.1, builds and pushes a small sample image on the spot,
# scans it with `cr-agent scan` and prints the table. A second run reuses the registry storage and the
# pushed image; every process started here is stopped at the end, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
agent=$(scripts/build-release.sh)                # the binary as it ships
state=.build-demo
mkdir -p "$state"
py=.venv/bin/python
fixture=Tests/registry/fixture.py

stop() { "$py" "$fixture" stop --dir "$state/registry" >/dev/null 2>&1 || true; }
trap stop EXIT
trap 'stop; exit 130' INT TERM

"$py" "$fixture" stop --dir "$state/registry" >/dev/null 2>&1 || true   # a run killed earlier
"$py" "$fixture" start --auth none --dir "$state/registry" --detach --max-lifetime 600 >/dev/null
host=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["host"])' "$state/registry/fixture.json")
image="$host/single/app:1.0"

if curl -fsS -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$host/v2/single/app/manifests/1.0" 2>/dev/null; then
  echo "== sample image already in the registry (from an earlier run)" >&2
else
  echo "== building and pushing sample images to $host" >&2
  "$py" "$fixture" push --fixture "$state/registry" --set basic --summary >/dev/null
fi

echo "== cr-agent scan $image" >&2
"$agent" scan --plain-http "$image"
