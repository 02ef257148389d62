#!/usr/bin/env bash
# Self-test of the accuracy fixtures and compare.py (Tests/accuracy/README.md): compare.py's parser checks,
# build.sh (first run builds, second reuses), the merged-filesystem checks, each image read back by skopeo
# from the registry, the OCI layout and the docker archive, syft vs syft over every transport (must be
# identical), the builder's expectations vs syft (differences only from the table), and a hand-made
# scan result run through a command template (must fail with unexpected differences).
# Ends with "N passed, N failed"; exits non-zero on any failure. Every command runs under a timeout.
# Stops the registry at the end if this run started it (KEEP=1 keeps it).
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
A=Tests/accuracy
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1${2:+: $2}"; }
WORK=$(mktemp -d /tmp/accuracy-selftest.XXXXXX)
STARTED=0
cleanup() {
  if [ "$STARTED" = 1 ] && [ "${KEEP:-0}" != 1 ]; then timeout -k 5 60 $A/build.sh --stop >/dev/null 2>&1; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if out=$(timeout -k 5 120 "$PY" $A/compare.py --self-test 2>&1); then
  ok "compare.py --self-test ($(echo "$out" | tail -1))"
else
  bad "compare.py --self-test" "$(echo "$out" | grep FAIL | head -5)"
fi

t0=$(date +%s%N)
if timeout -k 10 2400 $A/build.sh > "$WORK/build1.json" 2> "$WORK/build1.err"; then
  ok "build.sh ($(jq -r '"built now: \(.built_now|join(",")|if .=="" then "nothing" else . end), \(.seconds.total)s"' "$WORK/build1.json"))"
else
  bad "build.sh" "$(tail -5 "$WORK/build1.err")"
  echo "$PASS passed, $FAIL failed"; exit 1
fi
[ "$(jq -r '.registry.reused' "$WORK/build1.json")" = false ] && STARTED=1
F=$(jq -r '.key_dir' "$WORK/build1.json")/fixtures.json
n=$(jq '.images | length' "$WORK/build1.json")
[ "$n" -ge 4 ] && ok "fixtures.json lists $n images" || bad "fixtures.json lists the 4 images" "$n"

t1=$(date +%s%N)
timeout -k 5 120 $A/build.sh > "$WORK/build2.json" 2> "$WORK/build2.err"
t2=$(date +%s%N)
ms=$(( (t2 - t1) / 1000000 ))
if [ "$(jq -r '.built_now | length' "$WORK/build2.json")" = 0 ] && [ "$(jq -r '.registry.reused' "$WORK/build2.json")" = true ] \
   && [ "$ms" -lt 10000 ]; then
  ok "second build.sh reuses everything: nothing built, registry reused, ${ms} ms"
else
  bad "second build.sh reuses everything" "built $(jq -c .built_now "$WORK/build2.json"), ${ms} ms"
fi

if out=$(timeout -k 5 300 "$PY" $A/build_fixtures.py verify 2>&1); then
  ok "merged filesystems: expected files, whiteouts, opaque dir, status ($(echo "$out" | tail -1))"
else
  bad "merged filesystems" "$(echo "$out" | grep FAIL | head -5)"
fi

for name in $(jq -r '.images | keys[]' "$F"); do
  want=$(jq -r ".images[\"$name\"].manifest_digest" "$F")
  ref=$(jq -r ".images[\"$name\"].ref" "$F")
  oci=$(jq -r ".images[\"$name\"].oci_dir" "$F")
  arc=$(jq -r ".images[\"$name\"].docker_archive" "$F")
  got=$(timeout -k 5 60 skopeo inspect --tls-verify=false "docker://$ref" 2>&1 | jq -r .Digest 2>/dev/null)
  [ "$got" = "$want" ] && ok "$name: skopeo reads the registry image, digest $want" || bad "$name registry digest" "$got"
  want_oci=$(jq -r ".images[\"$name\"].oci_manifest_digest" "$F")
  got=$(timeout -k 5 60 skopeo inspect "oci:$oci:1" 2>&1 | jq -r .Digest 2>/dev/null)
  [ "$got" = "$want_oci" ] && ok "$name: skopeo reads the OCI layout$([ "$want_oci" != "$want" ] && echo " (Docker manifest converted to OCI)")" \
    || bad "$name OCI layout digest" "$got"
  nl=$(timeout -k 5 120 skopeo inspect "docker-archive:$arc" 2>&1 | jq -r '.Layers | length' 2>/dev/null)
  [ "$nl" = "$(jq ".images[\"$name\"].layers | length" "$F")" ] && ok "$name: skopeo reads the docker archive ($nl layers)" \
    || bad "$name docker archive" "$nl layers"
done

if timeout -k 10 1800 "$PY" $A/compare.py --fixtures "$F" --scanner syft --transport all > "$WORK/syft.txt" 2>&1; then
  ok "syft vs syft over registry, OCI layout and docker archive: $(tail -1 "$WORK/syft.txt" | sed 's/^compare: //')"
else
  bad "syft vs syft" "$(grep -E 'UNEXPECTED|ERROR|^      [-+~]' "$WORK/syft.txt" | head -10)"
fi

if timeout -k 10 900 "$PY" $A/compare.py --fixtures "$F" --scanner truth > "$WORK/truth.txt" 2>&1; then
  ok "builder's expectations vs syft: $(tail -1 "$WORK/truth.txt" | sed 's/^compare: //')"
else
  bad "builder's expectations vs syft" "$(grep -E 'UNEXPECTED|ERROR|^      [-+~]' "$WORK/truth.txt" | head -10)"
fi
grep -q 'deb .*1 expected (dpkg-config-files)' <(grep -A3 '^== layered-deb' "$WORK/truth.txt") \
  && ok "layered-deb: syft's config-files leftover is the one expected difference" \
  || bad "layered-deb: config-files leftover" "$(grep -A3 '^== layered-deb' "$WORK/truth.txt")"

timeout -k 10 600 "$PY" $A/compare.py --fixtures "$F" --image debian-python \
  --scanner "cat $A/testdata/scan-result-sample.json" > "$WORK/sample.txt" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -q 'UNEXPECTED' "$WORK/sample.txt"; then
  ok "a hand-made snyk-shape result through a command template: exit 1 with a readable diff"
else
  bad "hand-made scan result" "exit $rc: $(head -5 "$WORK/sample.txt")"
fi

echo "accuracy selftest: $(( ($(date +%s%N) - t0) / 1000000000 )) s"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
