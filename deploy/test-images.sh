#!/usr/bin/env bash
# Builds the runtime images (prebuilt target) from a local Debian base and runs them, all on 127.0.0.1:
# the agent container answers /healthcheck (Docker's own HEALTHCHECK turns healthy), lists and scans a
# real Debian image pushed to a local docker-registry; the broker client container connects to a broker
# server container. Needs a running Docker daemon; containers use --network host only.
#   deploy/test-images.sh             (RELEASE_DIR: where scripts/build-release.sh put cr-agent and broker)
# Starts dockerd when none runs (as root). Exit 0 all passed, 1 a check failed, 3 no Docker daemon. Every container and the registry it started
# are removed on exit, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
base=${LOCAL_BASE_IMAGE:-cr-agent-local/debian:bookworm-slim}
tag=test-$$
say() { echo "test-images: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

# A Docker daemon: the running one, else one started here (root, no bridge network: containers use
# --network host only) and stopped on exit.
dockerd_pid=
if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null && [ "$(id -u)" = 0 ] || { say "no Docker daemon answers and none can be started here"; exit 3; }
  say "starting dockerd (--bridge=none --iptables=false)"
  dockerd --bridge=none --iptables=false >/tmp/test-images-dockerd.log 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.1; done
  docker info >/dev/null 2>&1 || { say "dockerd did not start (log: /tmp/test-images-dockerd.log)"; kill "$dockerd_pid"; exit 3; }
fi

release=${RELEASE_DIR:-.build-release/x86_64-unknown-linux-gnu/release}
if [ ! -x "$release/cr-agent" ] || [ ! -x "$release/broker" ]; then
  release=$(dirname "$(scripts/build-release.sh)")
fi

work=$(mktemp -d)
containers=()
cleanup() {
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  [ -f "$work/registry/fixture.json" ] && .venv/bin/python Tests/registry/fixture.py stop --dir "$work/registry" >/dev/null 2>&1
  docker rmi "cr-broker-baked:$tag" "cr-agent:$tag" "cr-broker:$tag" >/dev/null 2>&1 || true
  rm -rf "$work"
  if [ -n "$dockerd_pid" ]; then kill "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A local base: Debian 12 from the Debian mirror, with the two packages the runtime stage wants.
if ! docker image inspect "$base" >/dev/null 2>&1; then
  say "making $base with mmdebstrap"
  mmdebstrap --quiet --variant=minbase --include=ca-certificates,curl bookworm - | docker import - "$base" >/dev/null
fi

mkdir "$work/context"
cp "$release/cr-agent" "$release/broker" "$work/context/"
for program in cr-agent broker; do
  image=$([ $program = broker ] && echo cr-broker || echo cr-agent)
  say "building $image:$tag (prebuilt target)"
  docker build -q --network host -f "deploy/$program.Dockerfile" --target prebuilt \
    --build-arg RUNTIME_IMAGE="$base" --build-arg RELEASE_DIR=. -t "$image:$tag" "$work/context" \
    >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "docker build of $image"; }
  user=$(docker image inspect -f '{{.Config.User}}' "$image:$tag")
  [ "$user" = "10001:10001" ] || fail "$image runs as '$user', not 10001:10001"
done

# The derived image of the docs: the client's settings baked in, still the unprivileged user.
docker build -q --network host -f deploy/examples/broker-client-baked.Dockerfile --build-arg BROKER_IMAGE="cr-broker:$tag" \
  -t "cr-broker-baked:$tag" "$work/context" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "docker build of the derived image"; }
baked=$(docker image inspect -f '{{.Config.User}} {{json .Config.Env}} {{json .Config.Cmd}}' "cr-broker-baked:$tag")
[[ "$baked" == '10001:10001 '*' ["client"]' && "$baked" == *'"CR_TYPE=docker-hub"'* && "$baked" == *'"PORT=8000"'* ]] ||
  fail "derived image: $baked"

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {   # wait_for <seconds> <command...>: polls until the command succeeds
  local until=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $until ] || return 1; sleep 0.5; done
}
healthy() { [ "$(docker inspect -f '{{.State.Health.Status}}' "$1")" = healthy ]; }

# A registry with a password, holding the base image itself (a real Debian root with dpkg's database).
.venv/bin/python Tests/registry/fixture.py start --auth htpasswd --dir "$work/registry" --detach --max-lifetime 600 >/dev/null
read -r reg_url reg_user reg_pass < <(.venv/bin/python -c '
import json,sys; f=json.load(open(sys.argv[1])); print(f["url"], f["username"], f["password"])' "$work/registry/fixture.json")
skopeo copy -q --dest-tls-verify=false --dest-creds "$reg_user:$reg_pass" \
  "docker-daemon:$base" "docker://${reg_url#http://}/debian/base:12" >/dev/null

# The agent container: healthcheck, listing, and a scan run inside it.
agent_port=$(free_port)
agent=cr-agent-$tag; containers+=("$agent")
docker run -d --name "$agent" --network host --read-only --tmpfs /tmp --health-interval 1s \
  -e SNYK_PORT="$agent_port" -e CR_BASE="$reg_url" -e CR_USERNAME="$reg_user" -e CR_PASSWORD="$reg_pass" \
  "cr-agent:$tag" >/dev/null
wait_for 30 curl -fsS "http://127.0.0.1:$agent_port/healthcheck" || fail "agent /healthcheck: $(docker logs "$agent" 2>&1 | tail -5)"
wait_for 30 healthy "$agent" || fail "agent container never turned healthy: $(docker inspect -f '{{json .State.Health}}' "$agent")"
listing=$(curl -fsS "http://127.0.0.1:$agent_port/list")
[ "$listing" = '["debian/base"]' ] || fail "agent /list answered $listing"
docker exec "$agent" cr-agent scan --format cyclonedx debian/base:12 > "$work/scan.json" || fail "scan in the agent container failed"
in_container=$(jq '[.. | objects | select(has("purl")) | .purl | select(startswith("pkg:deb/"))] | length' "$work/scan.json")
CR_BASE="$reg_url" CR_USERNAME="$reg_user" CR_PASSWORD="$reg_pass" "$release/cr-agent" scan --format cyclonedx debian/base:12 > "$work/scan-host.json"
on_host=$(jq '[.. | objects | select(has("purl")) | .purl | select(startswith("pkg:deb/"))] | length' "$work/scan-host.json")
[ "$in_container" -gt 50 ] && [ "$in_container" = "$on_host" ] ||
  fail "the container's scan found $in_container Debian packages, the host's binary $on_host"
say "agent container: healthy, lists the registry, scan found $in_container Debian packages (host: $on_host)"

# The broker: a server container and a client container that dials it and reaches the agent.
server_port=$(free_port); client_port=$(free_port); token=$(cat /proc/sys/kernel/random/uuid)
server=cr-broker-server-$tag; client=cr-broker-client-$tag; containers+=("$server" "$client")
docker run -d --name "$server" --network host --read-only --health-interval 1s \
  -e PORT="$server_port" -e BROKER_TOKENS="$token" -e BROKER_UPSTREAM_URL="http://127.0.0.1:9" \
  "cr-broker:$tag" server >/dev/null
wait_for 30 curl -fsS "http://127.0.0.1:$server_port/healthcheck" || fail "broker server: $(docker logs "$server" 2>&1 | tail -5)"
docker run -d --name "$client" --network host --read-only --health-interval 1s \
  -e PORT="$client_port" -e BROKER_TOKEN="$token" -e BROKER_SERVER_URL="http://127.0.0.1:$server_port" \
  -e BROKER_CLIENT_URL="http://127.0.0.1:$client_port" -e CR_AGENT_URL="http://127.0.0.1:$agent_port" \
  -e CR_TYPE=harbor-cr -e CR_BASE="${reg_url#http://}" -e CR_USERNAME="$reg_user" -e CR_PASSWORD="$reg_pass" \
  "cr-broker:$tag" >/dev/null
wait_for 30 healthy "$client" || fail "broker client never turned healthy (no socket to the server): $(docker logs "$client" 2>&1 | tail -5)"
code=$(curl -s -o "$work/brokered.json" -w '%{http_code}' "http://127.0.0.1:$server_port/broker/$token/healthcheck")
[ "$code" = 200 ] || fail "GET /broker/<token>/healthcheck through the tunnel answered $code"
say "broker: client container connected to the server container; /healthcheck reached the agent through it"
