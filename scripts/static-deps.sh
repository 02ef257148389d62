#!/usr/bin/env bash
# Prepares what the release binary links statically, in .build-deps/ (scripts/build-release.sh uses it):
#  - libcurl built from Debian's own curl source package (the installed version, with Debian's patches),
#    configured for HTTP and HTTPS only: OpenSSL, zlib, IPv6, proxies, the threaded resolver; none of
#    the other protocols, and no nghttp2/libidn2/librtmp/libssh2/libpsl/brotli/GSSAPI, so the binary
#    does not map the thirty-odd shared libraries that Debian's libcurl4 pulls in;
#  - ISA-L (igzip's inflate) built from Debian's libisal source package (Debian ships no static archive);
#  - Debian's static archives of OpenSSL, zlib, zstd, SQLite and libstdc++, linked beside it;
#  - pkg-config files naming those archives (PKG_CONFIG_PATH=.build-deps/pkgconfig).
# Idempotent: a second run with the same curl and ISA-L versions and options builds nothing (it only
# checks the links and pkg-config files, which name the real folder of .build-deps).
set -euo pipefail
cd "$(dirname "$0")/.."
# The real folder, also when .build-deps is a link (a second checkout sharing the first one's): the
# pkg-config files name it, so they must not name a checkout that may go away.
root=$(realpath -m "$PWD/.build-deps")
lib=$root/lib
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
system_lib=/usr/lib/$multiarch

CURL_OPTIONS=(
  --disable-shared --enable-static --with-pic --disable-dependency-tracking
  --with-openssl --with-zlib --with-ca-path=/etc/ssl/certs --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt
  --enable-http --enable-proxy --enable-ipv6 --enable-threaded-resolver
  --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet
  --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp --disable-gopher --disable-mqtt
  --disable-manual --disable-doh --disable-mime --disable-alt-svc --disable-hsts --disable-websockets
  --disable-netrc --disable-progress-meter --disable-cookies --disable-ntlm-wb
  --without-libpsl --without-brotli --without-zstd --without-nghttp2 --without-libidn2 --without-librtmp
  --without-libssh2 --without-libssh --without-gssapi --without-hyper
)

version=$(dpkg-query -W -f='${Version}' libcurl4-openssl-dev 2>/dev/null) || {
  echo "static-deps: libcurl4-openssl-dev is not installed (scripts/deps.sh installs it)" >&2; exit 2; }
want="curl $version; ${CURL_OPTIONS[*]}; $(clang -print-file-name=libstdc++.a 2>/dev/null || true)"
isal_version=$(dpkg-query -W -f='${Version}' libisal-dev 2>/dev/null) || {
  echo "static-deps: libisal-dev is not installed (scripts/deps.sh installs it)" >&2; exit 2; }
want_isal="libisal $isal_version"
curl_done=0; isal_done=0
[ -f "$lib/libcurl.a" ] && [ "$(cat "$root/stamp" 2>/dev/null)" = "$want" ] && curl_done=1
[ -f "$lib/libisal.a" ] && [ "$(cat "$root/isal-stamp" 2>/dev/null)" = "$want_isal" ] && isal_done=1

# Debian's source index, read with apt's own verification, from the machine's configured archives; the
# system's apt state is left untouched.
apt_private=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$root/apt/sources"
             -o Dir::State::Lists="$root/apt/lists" -o Dir::Cache="$root/apt/cache" -o APT::Sandbox::User=root)
source_index() {
  mkdir -p "$root/apt/lists/partial" "$root/apt/cache/archives/partial" "$root/apt/sources" "$root/src"
  shopt -s nullglob
  for f in /etc/apt/sources.list.d/*.sources; do
    sed -E 's/^Types:.*/Types: deb-src/' "$f" >"$root/apt/sources/$(basename "$f")"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && sed -nE 's/^deb[[:space:]]/deb-src /p' "$f" >"$root/apt/sources/$(basename "$f").list"
  done
  shopt -u nullglob
  apt-get "${apt_private[@]}" -qq update >>"$root/apt.log" 2>&1 || true
}

if [ $curl_done = 0 ]; then     # else: built already; the links and pkg-config files below are still checked

echo "static-deps: building libcurl $version (HTTP and HTTPS only) into $root" >&2
rm -rf "$root"
mkdir -p "$lib" "$root/pkgconfig"
source_index
(cd "$root/src" && { apt-get "${apt_private[@]}" -qq source --download-only "curl=$version" ||
                     apt-get "${apt_private[@]}" -qq source --download-only curl; } >>"$root/apt.log" 2>&1) || {
  tail -5 "$root/apt.log" >&2; echo "static-deps: cannot download Debian's curl source package" >&2; exit 1; }
(cd "$root/src" && dpkg-source -x ./*.dsc curl >>"$root/apt.log" 2>&1) || {   # Debian's patches applied
  tail -5 "$root/apt.log" >&2; echo "static-deps: dpkg-source could not unpack curl" >&2; exit 1; }

cd "$root/src/curl"
if ! { ./configure --prefix="$root/curl" "${CURL_OPTIONS[@]}" && make -j"$(nproc)" -C lib && make -C lib install &&
       make -C include install; } >"$root/build.log" 2>&1; then
  tail -20 "$root/build.log" >&2
  echo "static-deps: building libcurl failed (log: $root/build.log)" >&2
  exit 1
fi
cd - >/dev/null
cp "$root/curl/lib/libcurl.a" "$lib/"
echo "$want" >"$root/stamp"
fi

# ISA-L: Debian's libisal source (with its patches), the library only, with its own Makefile (nasm).
if [ ! -f "$lib/libisal.a" ] || [ "$(cat "$root/isal-stamp" 2>/dev/null)" != "$want_isal" ]; then
  echo "static-deps: building ISA-L $isal_version into $root" >&2
  source_index
  rm -rf "$root/src/isal" && mkdir -p "$root/src"
  (cd "$root/src" && { apt-get "${apt_private[@]}" -qq source --download-only "libisal=$isal_version" ||
                       apt-get "${apt_private[@]}" -qq source --download-only libisal; } >>"$root/apt.log" 2>&1) || {
    tail -5 "$root/apt.log" >&2; echo "static-deps: cannot download Debian's libisal source package" >&2; exit 1; }
  (cd "$root/src" && dpkg-source -x ./libisal_*.dsc isal >>"$root/apt.log" 2>&1) || {
    tail -5 "$root/apt.log" >&2; echo "static-deps: dpkg-source could not unpack libisal" >&2; exit 1; }
  if ! make -C "$root/src/isal" -f Makefile.unx -j"$(nproc)" lib >"$root/isal-build.log" 2>&1; then
    tail -20 "$root/isal-build.log" >&2
    echo "static-deps: building ISA-L failed (log: $root/isal-build.log)" >&2
    exit 1
  fi
  cp "$root/src/isal/bin/isa-l.a" "$lib/libisal.a"
  echo "$want_isal" >"$root/isal-stamp"
fi

for name in ssl crypto z zstd sqlite3; do
  [ -f "$system_lib/lib$name.a" ] || { echo "static-deps: $system_lib/lib$name.a is missing" >&2; exit 1; }
  ln -sf "$system_lib/lib$name.a" "$lib/"
done
# The Swift runtime needs libstdc++; linked statically too when the toolchain's clang finds the archive.
stdcxx=$(clang -print-file-name=libstdc++.a 2>/dev/null || true)
[ -f "$stdcxx" ] && ln -sf "$stdcxx" "$lib/libstdc++.a"

# The names the package's system-library target asks pkg-config for.
write_pc() {  # write_pc <module> <libs> [cflags]; rewritten only when its text changes
  local text
  text=$(printf 'Name: %s\nDescription: static %s for the cr-agent release build\nVersion: 0\nLibs: -L%s %s\nCflags: %s' \
    "$1" "$1" "$lib" "$2" "${3:-}")
  [ "$(cat "$root/pkgconfig/$1.pc" 2>/dev/null)" = "$text" ] || printf '%s\n' "$text" >"$root/pkgconfig/$1.pc"
}
write_pc libcurl "-lcurl" "-I$root/curl/include"
write_pc openssl "-lssl -lcrypto"
write_pc zlib "-lz"
write_pc libzstd "-lzstd"
write_pc sqlite3 "-lsqlite3"
write_pc libisal "-lisal"
[ $curl_done = 1 ] && [ $isal_done = 1 ] || rm -rf "$root/src" "$root/apt/cache"
