#!/usr/bin/env bash
# Builds real rpm databases for the rpm cataloger tests: small packages made with rpmbuild from the spec
# files below, installed with `rpm --justdb` into OUT/root (Debian's rpm writes rpmdb.sqlite), a public key
# made with gpg and imported as a gpg-pubkey pseudo-package, rpm's own answer in OUT/expected.txt, and the same
# header blobs re-stored as BerkeleyDB hash files (db5.3_load) and NDB files (rpmdb-convert.py).
#
#   Tests/catalogers/os/build-rpmdb.sh OUT [python]
#
# Needs rpm, rpmbuild (Debian `rpm`), db5.3_load (Debian `db5.3-util`) and gpg (Debian `gpg`).
set -euo pipefail
out=${1:?usage: build-rpmdb.sh OUT [python]}
python=${2:-python3}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/top/SPECS" "$out/root"
top=$out/top

spec() { cat > "$top/SPECS/$1.spec"; }

spec cr-alpha <<'SPEC'
Name: cr-alpha
Version: 1.2.3
Release: 4.el9
Summary: noarch package without an epoch
License: MIT and BSD
Vendor: Example Corp
BuildArch: noarch
%description
noarch, no epoch, a vendor
%files
SPEC

spec cr-beta <<'SPEC'
Name: cr-beta
Epoch: 2
Version: 0.9
Release: 1
Summary: arch package with an epoch
License: GPL-2.0-or-later
%description
built for the host architecture, epoch 2
%files
SPEC

# Epoch 0 stated explicitly (the version string then keeps "0:"), and 300 files so the header is far larger
# than a page: BerkeleyDB then stores it across a chain of overflow pages.
spec cr-gamma <<'SPEC'
Name: cr-gamma
Epoch: 0
Version: 2024.01
Release: 7.fc40
Summary: explicit epoch 0 and a large header
License: Apache-2.0
Vendor: Ünïcödé Packaging Ltd
%description
many files
%install
mkdir -p %{buildroot}/usr/share/cr-gamma
for i in $(seq 1 300); do echo "$i" > %{buildroot}/usr/share/cr-gamma/file-with-a-longish-name-$i.txt; done
%files
/usr/share/cr-gamma
SPEC

spec cr-delta <<'SPEC'
Name: cr-delta
Version: 10.0~rc1
Release: 0.1.20240101git
Summary: odd version characters, no vendor
License: LGPL-2.1-only
%description
tilde and dotted release
%install
mkdir -p %{buildroot}/usr/bin
printf '#!/bin/sh\necho delta\n' > %{buildroot}/usr/bin/cr-delta
chmod 755 %{buildroot}/usr/bin/cr-delta
%files
/usr/bin/cr-delta
SPEC

rpmbuild --define "_topdir $top" --define 'debug_package %{nil}' --define '_build_id_links none' \
    --quiet -bb "$top"/SPECS/*.spec >"$out/rpmbuild.log" 2>&1 || { cat "$out/rpmbuild.log" >&2; exit 1; }
rpm --root "$out/root" --dbpath /var/lib/rpm --justdb --nodeps --noscripts -i "$top"/RPMS/*/*.rpm 2>"$out/rpm.log" \
    || { cat "$out/rpm.log" >&2; exit 1; }

export GNUPGHOME="$out/gnupg"
mkdir -p -m 700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-gen-key 'CR Test Key <cr-test@example.invalid>' rsa2048 sign never 2>/dev/null
gpg --batch --armor --export cr-test@example.invalid > "$out/key.asc"
rpm --root "$out/root" --dbpath /var/lib/rpm --import "$out/key.asc"
# gpg may have started an agent for this GNUPGHOME; stop it so nothing outlives the fixture.
gpgconf --kill all 2>/dev/null || true

# rpm's own view: name|epoch|version|release|arch|sourcerpm|license|vendor|size ("(none)" when absent).
rpm --root "$out/root" --dbpath /var/lib/rpm -qa \
    --qf '%{NAME}|%{EPOCH}|%{VERSION}|%{RELEASE}|%{ARCH}|%{SOURCERPM}|%{LICENSE}|%{VENDOR}|%{SIZE}\n' \
    | sort > "$out/expected.txt"

db=$out/root/var/lib/rpm/rpmdb.sqlite
# BerkeleyDB hash files from the same blobs, keyed by 4-byte native-endian header numbers as rpm keys them:
# default layout, 512-byte pages with 50 copies of each header (long overflow chains, many buckets and
# split pages), big-endian byte order, and page checksums.
mkdir -p "$out/bdb"
"$python" "$here/rpmdb-convert.py" db-load-text "$db" 1 > "$out/bdb/input-1.txt"
"$python" "$here/rpmdb-convert.py" db-load-text "$db" 50 > "$out/bdb/input-50.txt"
"$python" "$here/rpmdb-convert.py" db-load-text "$db" 1 big > "$out/bdb/input-1-big.txt"
load() { rm -f "$2"; db5.3_load -T -t hash "${@:3}" "$2" < "$1"; }
load "$out/bdb/input-1.txt" "$out/bdb/Packages"
load "$out/bdb/input-50.txt" "$out/bdb/Packages-512" -c db_pagesize=512
load "$out/bdb/input-1-big.txt" "$out/bdb/Packages-be" -c db_lorder=4321
load "$out/bdb/input-1.txt" "$out/bdb/Packages-chksum" -c chksum=1

# NDB files (no writer exists on Debian): one copy, and 300 copies (two slot pages, free slots between).
mkdir -p "$out/ndb"
"$python" "$here/rpmdb-convert.py" ndb "$db" 1 "$out/ndb/Packages.db"
"$python" "$here/rpmdb-convert.py" ndb "$db" 300 "$out/ndb/Packages-300.db"
echo "built rpm databases in $out"
