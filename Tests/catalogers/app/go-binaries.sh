#!/usr/bin/env bash
# Go executables with real module build info, built offline with Debian's Go (golang-go) from a
# file:// module proxy made here: module example.org/app depends on example.org/lib v1.2.3, replaces
# example.org/other v1.0.0 with example.org/fork v0.4.0 and example.org/local with a directory.
# Builds, into OUT (printed at the end):
#   app-ldflags      amd64, -ldflags "-X main.version=1.4.2"  (main module version from ldflags)
#   app-vcs          amd64, built in a git checkout             (vcs.revision / vcs.time pseudo-version)
#   app-386          GOARCH=386 (32-bit little-endian)
#   app-mips         GOARCH=mips (32-bit big-endian)
#   app-ppc64        GOARCH=ppc64 (64-bit big-endian)
#   app-stripped     amd64, -ldflags "-s -w" (no symbol table; .go.buildinfo is still there)
#   nomod            a module-less build (GO111MODULE=off): path only, no modules
# plus OUT/<name>.txt with `go version -m` of each, and OUT/vcs.txt with the commit's hash and time.
# A finished OUT (OUT/.done) is reused; the build cache is kept beside it.
#
#   Tests/catalogers/app/go-binaries.sh OUT
set -euo pipefail
out=${1:?usage: go-binaries.sh OUT}
if [ -f "$out/.done" ]; then echo "$out"; exit 0; fi
command -v go >/dev/null || { echo "go-binaries.sh: go is not installed (Debian package golang-go)" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/go-fixture.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export GOPATH=$work/gopath GOCACHE=$(dirname "$out")/go-build-cache GOFLAGS=-mod=mod GOPROXY=file://$work/proxy GOSUMDB=off GONOSUMDB='*' \
       GOTOOLCHAIN=local CGO_ENABLED=0 GO111MODULE=on HOME=$work

# A module version in the proxy: list, .info, .mod, .zip (zip entries under module@version/).
publish() {  # path version package-name
  local path=$1 version=$2 pkg=$3 dir=$work/proxy/$1/@v
  mkdir -p "$dir"
  echo "$version" >> "$dir/list"
  echo "{\"Version\":\"$version\",\"Time\":\"2024-01-02T03:04:05Z\"}" > "$dir/$version.info"
  printf 'module %s\n\ngo 1.18\n' "$path" > "$dir/$version.mod"
  python3 - "$dir/$version.zip" "$path@$version" "$pkg" "$dir/$version.mod" <<'PY'
import sys, zipfile
zpath, prefix, pkg, mod = sys.argv[1:]
with zipfile.ZipFile(zpath, "w") as z:
    z.writestr(prefix + "/go.mod", open(mod).read())
    z.writestr(prefix + "/" + pkg + ".go", "package %s\n\nfunc Name() string { return \"%s\" }\n" % (pkg, prefix))
PY
}
publish example.org/lib v1.2.3 lib
publish example.org/fork v0.4.0 other

app=$work/src/app
mkdir -p "$app/local"
cat > "$app/go.mod" <<'MOD'
module example.org/app

go 1.18

require (
	example.org/lib v1.2.3
	example.org/other v1.0.0
	example.org/local v0.0.0
)

replace example.org/other => example.org/fork v0.4.0

replace example.org/local => ./local
MOD
printf 'module example.org/local\n\ngo 1.18\n' > "$app/local/go.mod"
printf 'package local\n\nfunc Name() string { return "local" }\n' > "$app/local/local.go"
cat > "$app/main.go" <<'GO'
package main

import (
	"fmt"

	"example.org/lib"
	"example.org/local"
	"example.org/other"
)

var version = "dev"

func main() { fmt.Println(lib.Name(), other.Name(), local.Name(), version) }
GO
cd "$app"
go build -ldflags "-X main.version=1.4.2" -o "$out/app-ldflags" .   # -trimpath would drop -ldflags from the build info
GOARCH=386 go build -trimpath -o "$out/app-386" .
GOARCH=mips go build -trimpath -o "$out/app-mips" .
GOARCH=ppc64 go build -trimpath -o "$out/app-ppc64" .
go build -trimpath -ldflags "-s -w" -o "$out/app-stripped" .
git init -q . && git add -A && git -c user.name=t -c user.email=t@example.org commit -q -m fixture
git log -1 --format='%H %cI' > "$out/vcs.txt"
go build -buildvcs=true -o "$out/app-vcs" .

mkdir -p "$work/gopath/src/nomod"
printf 'package main\n\nfunc main() { println("hi") }\n' > "$work/gopath/src/nomod/main.go"
(cd "$work/gopath/src/nomod" && GO111MODULE=off GOFLAGS= go build -o "$out/nomod" .)

for b in app-ldflags app-vcs app-386 app-mips app-ppc64 app-stripped nomod; do go version -m "$out/$b" > "$out/$b.txt"; done
touch "$out/.done"
echo "$out"
