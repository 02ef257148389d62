#!/usr/bin/env bash
# Writes the seed inputs of the rpm-header, bdb and ndb fuzz targets (Tests/Fuzz/corpus/<target>/) from a real
# rpm database: small header blobs as rpm stored them, tiny BerkeleyDB hash files (512-byte pages; little- and
# big-endian; checksummed; an on-page and an overflow item) and a small NDB file.
#
#   Tests/catalogers/os/make-fuzz-corpus.sh [python]
#
# Needs what build-rpmdb.sh needs. The dpkg and apk seeds are plain text, written by hand.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
python=${1:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/build-rpmdb.sh" "$work" "$python" >/dev/null
db=$work/root/var/lib/rpm/rpmdb.sqlite
corpus=$root/Tests/Fuzz/corpus

mkdir -p "$corpus/rpm-header" "$corpus/bdb" "$corpus/ndb"
"$python" - "$db" "$corpus/rpm-header" <<'PY'
import sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?immutable=1", uri=True)
for hnum, blob in con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum"):
    if len(blob) <= 4096:
        open(f"{sys.argv[2]}/header-{hnum}", "wb").write(blob)
PY

# Two small pairs on the bucket page and one 700-byte value on overflow pages.
value=$(head -c 700 /dev/zero | tr '\0' 'v')
printf 'k1\nv1\nkey-two\nvalue-two\nbig\n%s\n' "$value" > "$work/small.txt"
for variant in plain:"" big:"-c db_lorder=4321" chksum:"-c chksum=1"; do
    name=${variant%%:*}
    opts=${variant#*:}
    rm -f "$corpus/bdb/$name"
    # shellcheck disable=SC2086
    db5.3_load -T -t hash -c db_pagesize=512 $opts "$corpus/bdb/$name" < "$work/small.txt"
done

"$python" - "$db" "$work/two.sqlite" <<'PY'
import sqlite3, sys
src = sqlite3.connect(f"file:{sys.argv[1]}?immutable=1", uri=True)
rows = src.execute("SELECT hnum, blob FROM Packages ORDER BY length(blob) LIMIT 2").fetchall()
dst = sqlite3.connect(sys.argv[2])
dst.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
dst.executemany("INSERT INTO Packages VALUES (?, ?)", rows)
dst.commit()
PY
"$python" "$here/rpmdb-convert.py" ndb "$work/two.sqlite" 1 "$corpus/ndb/two-packages"
ls -l "$corpus/rpm-header" "$corpus/bdb" "$corpus/ndb"
