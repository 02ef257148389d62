#!/usr/bin/env bash
# Self-test of the registry test harness (Tests/registry/README.md): starts the real docker-registry in each
# auth mode (none, htpasswd, token, token over TLS), pushes the `basic` set (and `many` once), checks the
# result with skopeo and curl, checks every scenario of the misbehaving stub and one behaviour of each vendor
# stand-in with curl, stops everything.
# Exits non-zero on any failure; ends with "N passed, N failed". Every command runs under a timeout.
# KEEP=1 keeps the work directory for inspection.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=$ROOT/.venv/bin/python
FX=$ROOT/Tests/registry/fixture.py
STUB=$ROOT/Tests/registry/misbehaving_registry.py
STANDINS=$ROOT/Tests/registry/vendor_standins.py
T="timeout -k 5 60"

for tool in docker-registry skopeo htpasswd openssl curl jq setpriv; do
  command -v "$tool" >/dev/null || { echo "selftest: $tool is missing: run scripts/deps.sh" >&2; exit 2; }
done
"$PY" -c "import httpx, jwt, cryptography" 2>/dev/null || {
  echo "selftest: .venv lacks httpx/pyjwt/cryptography: run scripts/deps.sh" \
       "(or .venv/bin/pip install pyjwt cryptography)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/registry-selftest.XXXXXX)
PASS=0
FAIL=0
FIXTURES=()
STUB_PID=""
SI_PID=""
T0=$(date +%s.%N)

cleanup() {
  for d in "${FIXTURES[@]}"; do $T "$PY" "$FX" stop --dir "$d" >/dev/null 2>&1; done
  if [ -n "$STUB_PID" ]; then kill "$STUB_PID" 2>/dev/null; wait "$STUB_PID" 2>/dev/null; fi
  if [ -n "$SI_PID" ]; then kill "$SI_PID" 2>/dev/null; wait "$SI_PID" 2>/dev/null; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "selftest: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok   $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1${2:+: $2}"; }
# check DESCRIPTION EXPECTED ACTUAL
check() { if [ "$2" == "$3" ]; then ok "$1"; else bad "$1" "expected [$2], got [$3]"; fi; }
# check_re DESCRIPTION REGEX ACTUAL
check_re() { if [[ "$3" =~ $2 ]]; then ok "$1"; else bad "$1" "[$3] does not match /$2/"; fi; }
elapsed() { echo "$(date +%s.%N) $1" | awk '{printf "%.2f", $1 - $2}'; }

# curl against the registry of fixture dir $FXD, with whatever auth that mode needs for SCOPE.
# reg_curl SCOPE CURL-ARGS...
reg_curl() {
  local scope=$1; shift
  local args=(-s --max-time 20)
  [ "$(jq -r .tls "$FXD/fixture.json")" = true ] && args+=(--cacert "$(jq -r .ca "$FXD/fixture.json")")
  case "$(jq -r .auth "$FXD/fixture.json")" in
    htpasswd) args+=(-u "$(jq -r '.username + ":" + .password' "$FXD/fixture.json")") ;;
    token)
      local tok
      tok=$(curl "${args[@]}" -u "$(jq -r '.username + ":" + .password' "$FXD/fixture.json")" -G \
              --data-urlencode "service=$(jq -r .token_service "$FXD/fixture.json")" \
              --data-urlencode "scope=$scope" "$(jq -r .token_url "$FXD/fixture.json")" | jq -r .token)
      args+=(-H "Authorization: Bearer $tok") ;;
  esac
  curl "${args[@]}" "$@"
}

# Follows the catalog's Link headers from ?n=N; prints the repositories one a line; LINKS gets each Link.
catalog_walk() {
  local n=$1 url next hdr body pages=0
  local base; base=$(jq -r .url "$FXD/fixture.json")
  url="$base/v2/_catalog?n=$n"
  LINKS=()
  while [ -n "$url" ] && [ $pages -lt 200 ]; do
    pages=$((pages + 1))
    hdr=$(mktemp -p "$WORK"); body=$(reg_curl "registry:catalog:*" -D "$hdr" "$url")
    echo "$body" | jq -r '.repositories[]'
    next=$(grep -i '^link:' "$hdr" | tr -d '\r' | sed -E 's/^[Ll]ink: *//')
    url=""
    if [ -n "$next" ]; then
      LINKS+=("$next")
      url="$base$(echo "$next" | sed -E 's/^<([^>]*)>.*/\1/')"
    fi
  done
}

skopeo_args() {  # for fixture dir $FXD: TLS and credentials flags
  local a=()
  if [ "$(jq -r .tls "$FXD/fixture.json")" = true ]; then a+=(--cert-dir "$(jq -r .ca_dir "$FXD/fixture.json")")
  else a+=(--tls-verify=false); fi
  [ "$(jq -r .username "$FXD/fixture.json")" != null ] && a+=(--creds "$(jq -r '.username + ":" + .password' "$FXD/fixture.json")")
  echo "${a[@]}"
}

run_mode() {  # run_mode NAME START-ARGS...   (sets FXD)
  local name=$1; shift
  FXD=$WORK/$name
  echo "--- registry: $name ($*)"
  local t; t=$(date +%s.%N)
  if ! $T "$PY" "$FX" start "$@" --dir "$FXD" --detach >"$WORK/$name.start.json" 2>"$WORK/$name.start.err"; then
    bad "$name: start" "$(tail -5 "$WORK/$name.start.err")"; return 1
  fi
  FIXTURES+=("$FXD")
  ok "$name: started in $(elapsed "$t") s (registry pid $(jq .registry_pid "$FXD/fixture.json"), $(jq -r .url "$FXD/fixture.json"))"
  t=$(date +%s.%N)
  if ! $T "$PY" "$FX" push --fixture "$FXD" --set basic --summary >"$WORK/$name.push.json" 2>"$WORK/$name.push.err"; then
    bad "$name: push basic" "$(tail -5 "$WORK/$name.push.err")"; return 1
  fi
  ok "$name: pushed basic in $(elapsed "$t") s ($(jq -c '{seconds, token_requests}' "$WORK/$name.push.json"))"
  local P=$FXD/expected/pushed-basic.json H; H=$(jq -r .host "$FXD/fixture.json")
  local sk; sk=$(skopeo_args)

  # skopeo, an independent client, sees what fixture.py says it pushed.
  check "$name: skopeo inspect single/app:1.0 digest" "$(jq -r '.images["single/app:1.0"].digest' "$P")" \
    "$($T skopeo inspect $sk "docker://$H/single/app:1.0" 2>&1 | jq -r .Digest 2>&1)"
  check "$name: skopeo inspect --raw multi/app:1.0 is the pushed index" \
    "$(jq -r '.images["multi/app:1.0"].digest' "$P")" \
    "sha256:$($T skopeo inspect --raw $sk "docker://$H/multi/app:1.0" | sha256sum | cut -d' ' -f1)"
  check "$name: skopeo --override-arch arm64 picks the arm64 manifest" \
    "$(jq -r '.images["multi/app:1.0"].manifests[1].config.digest' "$P")" \
    "$($T skopeo --override-arch arm64 --override-variant v8 inspect --config --raw $sk "docker://$H/multi/app:1.0" \
        | sha256sum | sed 's/^/sha256:/; s/ .*//')"
  check "$name: docker/app:1.0 is a Docker v2 manifest" "application/vnd.docker.distribution.manifest.v2+json" \
    "$($T skopeo inspect --raw $sk "docker://$H/docker/app:1.0" | jq -r .mediaType)"
  check "$name: chart/app:0.1.0 helm config media type" "application/vnd.cncf.helm.config.v1+json" \
    "$($T skopeo inspect --raw $sk "docker://$H/chart/app:0.1.0" | jq -r .config.mediaType)"

  # curl: catalog paging (2.8.2 answers a relative Link), tags list, byte-exact blobs.
  catalog_walk 7 >"$WORK/$name.catalog"
  check "$name: catalog walked with n=7 lists the pushed repositories" \
    "$(jq -r '.repositories[]' "$P" | sort | tr '\n' ' ')" "$(sort "$WORK/$name.catalog" | tr '\n' ' ')"
  check_re "$name: catalog Link is relative, n and last" '^</v2/_catalog\?last=[^&>]+&n=7>; rel="next"$' "${LINKS[0]:-none}"
  local tags; tags=$(reg_curl "repository:tags/app:pull" -D "$WORK/$name.tags.h" \
                       "$(jq -r .url "$FXD/fixture.json")/v2/tags/app/tags/list?n=5")
  check "$name: tags/app has t00..t22" "$(seq -f 't%02g' 0 22 | tr '\n' ' ')" "$(echo "$tags" | jq -r '.tags[]' | sort | tr '\n' ' ')"
  check "$name: 2.8.2 ignores n on tags/list (no Link)" "0" "$(grep -ci '^link:' "$WORK/$name.tags.h")"
  local ld; ld=$(jq -r '.images["single/app:1.0"].layers[1].digest' "$P")
  reg_curl "repository:single/app:pull" -L -o "$WORK/$name.blob" "$(jq -r .url "$FXD/fixture.json")/v2/single/app/blobs/$ld"
  if cmp -s "$WORK/$name.blob" "$FXD/expected/blobs/sha256/${ld#sha256:}"; then ok "$name: layer blob byte-exact"
  else bad "$name: layer blob byte-exact"; fi

  case "$name" in
    htpasswd)
      check "$name: /v2/ without credentials is 401 Basic" "401 Basic" \
        "$(curl -s -o /dev/null -w '%{http_code} ' "$(jq -r .url "$FXD/fixture.json")/v2/"; \
           curl -s -D - -o /dev/null "$(jq -r .url "$FXD/fixture.json")/v2/" | grep -i '^www-authenticate' | awk '{print $2}')" ;;
    token*)
      local cacert=(); [ "$(jq -r .tls "$FXD/fixture.json")" = true ] && cacert=(--cacert "$(jq -r .ca "$FXD/fixture.json")")
      local turl; turl=$(jq -r .token_url "$FXD/fixture.json")
      local pw; pw=$(jq -r .password "$FXD/fixture.json")
      check "$name: anonymous skopeo may pull public/app" "$(jq -r '.images["public/app:1.0"].digest' "$P")" \
        "$($T skopeo inspect ${sk%%--creds*} --no-creds "docker://$H/public/app:1.0" 2>&1 | jq -r .Digest 2>&1)"
      if $T skopeo inspect ${sk%%--creds*} --no-creds "docker://$H/single/app:1.0" >/dev/null 2>&1; then
        bad "$name: anonymous skopeo is refused single/app"; else ok "$name: anonymous skopeo is refused single/app"; fi
      check "$name: wrong password gets 401 from the token server" "401" \
        "$(curl -s "${cacert[@]}" -o /dev/null -w '%{http_code}' -u testuser:wrong "$turl?service=cr-agent-test-registry&scope=repository:single/app:pull")"
      check "$name: OAuth2 POST password grant" "access_token expires_in issued_at token" \
        "$(curl -s "${cacert[@]}" --data-urlencode grant_type=password --data-urlencode username=testuser \
             --data-urlencode "password=$pw" --data-urlencode service=cr-agent-test-registry \
             --data-urlencode 'scope=repository:single/app:pull registry:catalog:*' "$turl" | jq -r 'keys|join(" ")')"
      local ptok; ptok=$(curl -s "${cacert[@]}" -u "pulluser:$(jq -r .pull_only_password "$FXD/fixture.json")" \
                           "$turl?service=cr-agent-test-registry&scope=repository:single/app:pull,push" | jq -r .token)
      check_re "$name: pull-only token cannot push (401 insufficient_scope)" 'error="insufficient_scope"' \
        "$(curl -s "${cacert[@]}" -D - -o /dev/null -X POST -H "Authorization: Bearer $ptok" \
             "$(jq -r .url "$FXD/fixture.json")/v2/single/app/blobs/uploads/" | grep -i '^www-authenticate')"
      check "$name: token.log is JSON lines and never holds the password" "json 0" \
        "$(jq -c . "$FXD/token.log" >/dev/null && echo -n "json "; grep -c -F -- "$pw" "$FXD/token.log")"
      check_re "$name: token.log records GET scopes and the POST form" '"method":"POST".*"grant_type":\["password"\]' \
        "$(grep '"method":"POST"' "$FXD/token.log" | head -1)" ;;
  esac
  # The OCI layout of expected bytes is itself valid (skopeo reads it) and every blob hashes to its name.
  check "$name: expected OCI layout readable by skopeo" "$(jq -r '.images["single/app:1.0"].digest' "$P")" \
    "$($T skopeo inspect "oci:$FXD/expected:single/app:1.0" | jq -r .Digest)"
  local badblobs=0 f
  for f in "$FXD"/expected/blobs/sha256/*; do
    [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || badblobs=$((badblobs + 1))
  done
  check "$name: every expected blob hashes to its name" 0 "$badblobs"
}

stop_mode() {
  local rpid; rpid=$(jq .registry_pid "$FXD/fixture.json")
  $T "$PY" "$FX" stop --dir "$FXD" >/dev/null
  if kill -0 "$rpid" 2>/dev/null; then bad "$(basename "$FXD"): registry stopped"; else ok "$(basename "$FXD"): registry stopped"; fi
}

# The vendor stand-ins in front of the registry of $FXD (auth none, basic pushed): one check of each
# vendor-specific behaviour, with curl.
standin_checks() {
  echo "--- vendor stand-ins"
  local SD=$WORK/standins C=(curl -s --max-time 20)
  "$PY" "$STANDINS" --registry "$(jq -r .url "$FXD/fixture.json")" --dir "$SD" --max-lifetime 300 >"$WORK/standins.out" 2>&1 &
  SI_PID=$!
  for _ in $(seq 100); do [ -s "$SD/standins.json" ] && break; sleep 0.1; done
  if [ ! -s "$SD/standins.json" ]; then bad "stand-ins: start" "$(cat "$WORK/standins.out")"; return; fi
  ok "stand-ins: started"
  v() { jq -r ".vendors[\"$1\"].$2" "$SD/standins.json"; }
  tok() { "${C[@]}" -u "$2" -G --data-urlencode "scope=$3" "$1" | jq -r .token; }
  local H; H=$(v harbor-cr url)
  check "harbor: a member's token does not open the catalog" 401 \
    "$("${C[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(tok "$H/service/token" dev:dev-secret-7 'registry:catalog:*')" "$H/v2/_catalog")"
  check "harbor: an admin's does" 200 \
    "$("${C[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(tok "$H/service/token" admin:Harbor12345 'registry:catalog:*')" "$H/v2/_catalog")"
  check "harbor: projects page 1 of 2, X-Total-Count and Link" "tags 9 </api/v2.0/projects?page=2&page_size=8>; rel=\"next\"" \
    "$("${C[@]}" -u dev:dev-secret-7 -D "$WORK/h.hdr" "$H/api/v2.0/projects?page=1&page_size=8" | jq -r '.[-1].name') $(grep -i '^x-total-count' "$WORK/h.hdr" | tr -d '\r' | cut -d' ' -f2) $(grep -i '^link' "$WORK/h.hdr" | tr -d '\r' | cut -d' ' -f2-)"
  check "harbor: page_size over 100 is 400" 400 "$("${C[@]}" -o /dev/null -w '%{http_code}' -u dev:dev-secret-7 "$H/api/v2.0/projects?page_size=101")"
  local HUB; HUB=$(v docker-hub hub_url)
  local AT; AT=$("${C[@]}" -X POST -H 'Content-Type: application/json' -d '{"identifier":"many","secret":"dckr_pat_hub-secret-1"}' "$HUB/v2/auth/token" | jq -r .access_token)
  check "hub: sign-in, then the namespace's repositories" '1 single/app' \
    "$("${C[@]}" -H "Authorization: Bearer $AT" "$HUB/v2/namespaces/single/repositories?page_size=100" | jq -r '"\(.count) \(.results[0].namespace)/\(.results[0].name)"')"
  check "hub: a wrong secret is 401" 401 "$("${C[@]}" -o /dev/null -w '%{http_code}' -X POST -d '{"identifier":"many","secret":"x"}' "$HUB/v2/auth/token")"
  check_re "hub: the registry's realm is the auth host" "realm=\"$(v docker-hub auth_url)/token\"" \
    "$("${C[@]}" -D - -o /dev/null "$(v docker-hub url)/v2/" | grep -i '^www-authenticate')"
  local Q QT; Q=$(v quay-cr url); QT=$(tok "$Q/v2/auth" 'org+robot:quay-robot-secret-4' 'registry:catalog:*')
  check_re "quay: opaque next_page cursor" '^<[^>]*next_page=[A-Za-z0-9_-]+>; rel="next"' \
    "$("${C[@]}" -D - -o /dev/null -H "Authorization: Bearer $QT" "$Q/v2/_catalog?n=2" | grep -i '^link' | tr -d '\r' | cut -d' ' -f2-)"
  check "quay: a rebuilt last= cursor is 400" 400 "$("${C[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $QT" "$Q/v2/_catalog?n=2&last=chart/app")"
  local A; A=$(v acr url)
  check "acr: tags/list refused with pull only, given with metadata_read" "401 200" \
    "$("${C[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(tok "$A/oauth2/token" myregistry:acr-admin-secret-3 'repository:tags/app:pull')" "$A/v2/tags/app/tags/list") $("${C[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(tok "$A/oauth2/token" myregistry:acr-admin-secret-3 'repository:tags/app:metadata_read')" "$A/v2/tags/app/tags/list")"
  check "gcr: only _json_key with the exact key" 401 "$("${C[@]}" -o /dev/null -w '%{http_code}' -u '_json_key:{}' "$(v gcr url)/v2/token?scope=x")"
  check_re "gitlab: realm on the other host" "realm=\"$(v gitlab-cr auth_url)/jwt/auth\"" \
    "$("${C[@]}" -D - -o /dev/null "$(v gitlab-cr url)/v2/" | grep -i '^www-authenticate')"
  check "github, gitlab: no catalog" "404 404" \
    "$("${C[@]}" -o /dev/null -w '%{http_code}' "$(v github-cr url)/v2/_catalog") $("${C[@]}" -o /dev/null -w '%{http_code}' "$(v gitlab-cr url)/v2/_catalog")"
  check "nexus: Basic, under the prefix, no Link on a full page" "2 0" \
    "$("${C[@]}" -u nexus-reader:nexus-secret-10 -D "$WORK/n.hdr" "$(v nexus-cr base)/v2/_catalog?n=2" | jq '.repositories | length') $(grep -ci '^link' "$WORK/n.hdr")"
  check_re "artifactory: Link under the prefix" '^</artifactory/api/docker/docker-local/v2/_catalog\?' \
    "$("${C[@]}" -D - -o /dev/null -H "Authorization: Bearer $(tok "$(v artifactory-cr base)/v2/token" deployer:jfrog-secret-9 'registry:catalog:*')" "$(v artifactory-cr base)/v2/_catalog?n=2" | grep -i '^link' | tr -d '\r' | cut -d' ' -f2-)"
  check "record: every request kept, with its Authorization" true \
    "$("${C[@]}" "$(jq -r .control_url "$SD/standins.json")/record" | jq '[.requests[] | select(.vendor == "nexus-cr")][0].authorization | startswith("Basic ")')"
  kill "$SI_PID" 2>/dev/null; wait "$SI_PID" 2>/dev/null; SI_PID=""
}

run_mode none --auth none && { standin_checks; stop_mode; }
run_mode htpasswd --auth htpasswd && stop_mode
run_mode token-tls --auth token --tls --token-key-header x5c --token-alg RS256 && stop_mode
if run_mode token --auth token --delete; then
  t=$(date +%s.%N)
  if $T "$PY" "$FX" push --fixture "$FXD" --set many --summary >"$WORK/many.json" 2>"$WORK/many.err"; then
    ok "token: pushed many in $(elapsed "$t") s ($(jq -c '{many_seconds, mounts, mounts_201, token_requests}' "$WORK/many.json"))"
    check "token: every cross-repository mount answered 201" "498 498" "$(jq -r '"\(.mounts) \(.mounts_201)"' "$WORK/many.json")"
    catalog_walk 7 >"$WORK/many.catalog"
    check "token: catalog walk with n=7 finds 9 + 250 repositories" 259 "$(sort -u "$WORK/many.catalog" | wc -l)"
    check "token: catalog walk took 37 pages" 37 "$(( ${#LINKS[@]} + 1 ))"
    check "token: skopeo sees many/repo-249:latest" "$(jq -r .manifest_digest "$FXD/expected/pushed-many.json")" \
      "$($T skopeo inspect --tls-verify=false --creds "$(jq -r '.username + ":" + .password' "$FXD/fixture.json")" \
          "docker://$(jq -r .host "$FXD/fixture.json")/many/repo-249:latest" | jq -r .Digest)"
  else
    bad "token: push many" "$(tail -5 "$WORK/many.err")"
  fi
  stop_mode
fi

# ------------------------------------------------------------------------------------- the misbehaving stub
echo "--- misbehaving stub"
SD=$WORK/stub
mkdir -p "$SD"
timeout -k 5 300 "$PY" "$STUB" --dir "$SD" --max-lifetime 240 >"$SD/out" 2>&1 &
STUB_PID=$!
for _ in $(seq 100); do [ -s "$SD/stub.json" ] && break; sleep 0.1; done
if [ ! -s "$SD/stub.json" ]; then
  bad "stub: start" "$(cat "$SD/out")"
else
  ok "stub: started"
  U=$(jq -r .url "$SD/stub.json")
  C=(curl -s --max-time 20)
  img() { jq -r ".images[\"$1\"].$2" "$SD/stub.json"; }

  L=$(img redirect layer.digest)
  check "stub redirect: 401 Basic without credentials" 401 "$("${C[@]}" -o /dev/null -w '%{http_code}' "$U/v2/redirect/blobs/$L")"
  check_re "stub redirect: 307 to the second origin" "^307 $(jq -r .second_origin_url "$SD/stub.json")/objects/" \
    "$("${C[@]}" -u u:p -o /dev/null -w '%{http_code} %{redirect_url}' "$U/v2/redirect/blobs/$L")"
  check "stub redirect: followed without credentials, bytes match" "$L" \
    "sha256:$("${C[@]}" -u u:p -L "$U/v2/redirect/blobs/$L" | sha256sum | cut -d' ' -f1)"
  check "stub redirect: second origin saw no Authorization" false "$("${C[@]}" "$U/_stub/record" | jq .second_origin_saw_authorization)"
  check "stub redirect: credentials forwarded get S3's 400" 400 \
    "$("${C[@]}" -u u:p -L --location-trusted -o /dev/null -w '%{http_code}' "$U/v2/redirect/blobs/$L")"
  check "stub redirect: ... and the record shows it" true "$("${C[@]}" "$U/_stub/record" | jq .second_origin_saw_authorization)"

  check "stub ratelimit: 429 Retry-After 1, then 200" "429 1|200 |" \
    "$(for _ in 1 2; do "${C[@]}" -o /dev/null -w '%{http_code} %header{retry-after}|' "$U/v2/ratelimit/manifests/latest"; done)"
  check "stub unavailable: 503, then 200" "503 200 " \
    "$(for _ in 1 2; do "${C[@]}" -o /dev/null -w '%{http_code} ' "$U/v2/unavailable/manifests/latest"; done)"

  CD=$(img cut layer.digest); CS=$(img cut layer.size)
  "${C[@]}" -o "$SD/cut.part" "$U/v2/cut/blobs/$CD"; rc=$?
  N=$(stat -c %s "$SD/cut.part")
  check "stub cut: connection cut after half the bytes (curl exit 18)" "18 $((CS / 2))" "$rc $N"
  check "stub cut: Range resume answers 206 with Content-Range" "206 bytes $N-$((CS - 1))/$CS" \
    "$("${C[@]}" -H "Range: bytes=$N-" -o "$SD/cut.rest" -w '%{http_code} %header{content-range}' "$U/v2/cut/blobs/$CD")"
  check "stub cut: both parts make the blob" "$CD" "sha256:$(cat "$SD/cut.part" "$SD/cut.rest" | sha256sum | cut -d' ' -f1)"
  check "stub cut: Range headers recorded" "[null,\"bytes=$N-\"]" "$("${C[@]}" "$U/_stub/record" | jq -c .cut_ranges)"

  check "stub catalog: relative Link with last and n" '</v2/_catalog?last=cut&n=2>; rel="next"' \
    "$("${C[@]}" -D - -o /dev/null "$U/v2/_catalog?n=2" | grep -i '^link:' | tr -d '\r' | sed 's/^[Ll]ink: //')"
  check "stub nexus: full page without Link" "nexus-repo-0 nexus-repo-1 |0" \
    "$("${C[@]}" -D "$SD/nx.h" "$U/repository/nexus/v2/_catalog?n=2" | jq -r '.repositories|join(" ")') |$(grep -ci '^link:' "$SD/nx.h")"
  check "stub nexus: last= fallback continues" "nexus-repo-2 nexus-repo-3" \
    "$("${C[@]}" "$U/repository/nexus/v2/_catalog?n=2&last=nexus-repo-1" | jq -r '.repositories|join(" ")')"
  q=$("${C[@]}" -D - -o /dev/null "$U/quay/v2/_catalog?n=2" | grep -i '^link:' | sed -E 's/.*<([^>]*)>.*/\1/')
  check_re "stub quay: opaque next_page cursor" '^/quay/v2/_catalog\?n=2&next_page=' "$q"
  check "stub quay: cursor followed" "denied huge" "$("${C[@]}" "$U$q" | jq -r '.repositories|join(" ")')"
  check "stub quay: rebuilt last= cursor refused" 400 "$("${C[@]}" -o /dev/null -w '%{http_code}' "$U/quay/v2/_catalog?n=2&last=cut")"
  check "stub paged tags: Link on tags/list" '</v2/paged/tags/list?last=t04&n=5>; rel="next"' \
    "$("${C[@]}" -D - -o /dev/null "$U/v2/paged/tags/list?n=5" | grep -i '^link:' | tr -d '\r' | sed 's/^[Ll]ink: //')"

  chal=$("${C[@]}" -D - -o /dev/null "$U/v2/scoped/manifests/latest" | grep -i '^www-authenticate' | tr -d '\r')
  check_re "stub scoped: first challenge asks repository:scoped:pull" "realm=\"$U/_stub/token\".*scope=\"repository:scoped:pull\"" "$chal"
  t1=$("${C[@]}" "$U/_stub/token?service=misbehaving-stub&scope=repository:scoped:pull" | jq -r .token)
  chal=$("${C[@]}" -D - -o /dev/null -H "Authorization: Bearer $t1" "$U/v2/scoped/manifests/latest" | grep -i '^www-authenticate' | tr -d '\r')
  check_re "stub scoped: second 401 asks for the extra scope" 'scope="repository:scoped-extra:pull repository:scoped:pull",error="insufficient_scope"' "$chal"
  t2=$("${C[@]}" -G "$U/_stub/token" --data-urlencode service=misbehaving-stub \
         --data-urlencode "scope=repository:scoped-extra:pull repository:scoped:pull" | jq -r .token)
  check "stub scoped: token with both scopes gets the manifest" "$(img scoped manifest_digest)" \
    "$("${C[@]}" -H "Authorization: Bearer $t2" "$U/v2/scoped/manifests/latest" | sha256sum | sed 's/^/sha256:/; s/ .*//')"
  check_re "stub denied: 401 insufficient_scope even with a token" '^401 ' \
    "$("${C[@]}" -o /dev/null -w '%{http_code} ' -H "Authorization: Bearer $t2" "$U/v2/denied/manifests/latest")"

  check "stub plaintext500: 500 text/plain" "500 text/plain; charset=utf-8" \
    "$("${C[@]}" -o /dev/null -w '%{http_code} %{content_type}' "$U/v2/plaintext500/manifests/latest")"
  check "stub huge: manifest over 4 MiB with Content-Length" "200 $(jq .huge_manifest_size "$SD/stub.json")" \
    "$("${C[@]}" -o /dev/null -w '%{http_code} %header{content-length}' "$U/v2/huge/manifests/latest")"
  check "stub huge-chunked: over 4 MiB, chunked" "chunked $(jq .huge_manifest_size "$SD/stub.json")" \
    "$("${C[@]}" -o /dev/null -w '%header{transfer-encoding} %{size_download}' "$U/v2/huge-chunked/manifests/latest")"
  check "stub schema1: prettyjws media type" "application/vnd.docker.distribution.manifest.v1+prettyjws" \
    "$("${C[@]}" -o /dev/null -w '%{content_type}' "$U/v2/schema1/manifests/latest")"
  check_re "stub metadata-realm: realm is the metadata address" 'realm="http://169\.254\.169\.254/' \
    "$("${C[@]}" -D - -o /dev/null "$U/v2/metadata-realm/manifests/latest" | grep -i '^www-authenticate')"
  check_re "stub imds prefix: /imds/v2/ advertises it too" 'realm="http://169\.254\.169\.254/' \
    "$("${C[@]}" -D - -o /dev/null "$U/imds/v2/" | grep -i '^www-authenticate')"
  BD=$(img baddigest layer.digest)
  got=$("${C[@]}" "$U/v2/baddigest/blobs/$BD" | sha256sum | cut -d' ' -f1)
  if [ "sha256:$got" != "$BD" ]; then ok "stub baddigest: bytes do not match the digest"; else bad "stub baddigest: bytes do not match the digest"; fi
  check "stub oversize: 1 KiB more than the descriptor" "$(( $(img oversize layer.size) + 1024 ))" \
    "$("${C[@]}" "$U/v2/oversize/blobs/$(img oversize layer.digest)" | wc -c)"
  mt=$("${C[@]}" -D "$SD/wc.h" "$U/v2/wrong-content-type/manifests/latest" | jq -r .mediaType)
  check "stub wrong-content-type: octet-stream, OCI body" "application/octet-stream application/vnd.oci.image.manifest.v1+json" \
    "$(grep -i '^content-type' "$SD/wc.h" | tr -d '\r' | awk '{print $2}') $mt"
  # hostile scenarios (HostileRegistryTests)
  SO=$(jq -r .second_origin_url "$SD/stub.json")
  check "stub xredirect: 401 Basic, then 307 to the second origin" "401 |307 $SO/hostile/manifests/latest|" \
    "$("${C[@]}" -o /dev/null -w '%{http_code} %{redirect_url}|' "$U/v2/xredirect/manifests/latest"; "${C[@]}" -u u:p -o /dev/null -w '%{http_code} %{redirect_url}|' "$U/v2/xredirect/manifests/latest")"
  check_re "stub xredirect: the second origin asks for a token of its own" "^401 .*realm=\"$SO/hostile/token\"" \
    "$("${C[@]}" -D - -o /dev/null "$SO/hostile/manifests/latest" | tr -d '\r' | grep -Ei '^(HTTP|www-authenticate)' | sed 's/^HTTP[^ ]* //' | tr '\n' ' ')"
  check "stub authorizations: every value recorded with its origin" '{"origin":"main","path":"/v2/xredirect/manifests/latest","value":"Basic dTpw"}' \
    "$("${C[@]}" "$U/_stub/record" | jq -c '.authorizations[-1]')"
  check_re "stub xlink: Link to the second origin" "<$SO/v2/_catalog" "$("${C[@]}" -D - -o /dev/null "$U/xlink/v2/_catalog" | grep -i '^link:')"
  check_re "stub bigexpiry: expires_in Int.max" '"expires_in":9223372036854775807' "$("${C[@]}" "$U/_stub/token-bigexpiry?scope=x")"
  check "stub retryafter-huge: 429 with a 23-digit Retry-After" "429 99999999999999999999999" \
    "$("${C[@]}" -o /dev/null -w '%{http_code} %header{retry-after}' "$U/v2/retryafter-huge/manifests/latest")"
  check "stub bigsize: three layer sizes of Int.max" "3" "$("${C[@]}" "$U/v2/bigsize/manifests/latest" | grep -o '"size": *9223372036854775807' | wc -l)"
  check_re "stub decimal-realm: realm 2852039166" 'realm="http://2852039166/' "$("${C[@]}" -D - -o /dev/null "$U/v2/decimal-realm/manifests/latest" | grep -i '^www-authenticate')"
  check_re "stub slow: a byte a second (1 or 2 in 1.5 s)" '^[12]$' "$(curl -s --max-time 1.5 "$U/v2/slow/blobs/$(img slow layer.digest)" | wc -c)"
  check "stub reset: counters cleared, 429 again" "429" \
    "$("${C[@]}" -X POST "$U/_stub/reset" >/dev/null; "${C[@]}" -o /dev/null -w '%{http_code}' "$U/v2/ratelimit/manifests/latest")"
fi

echo "selftest: $(elapsed "$T0") s"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
