// System libraries the project links, found through pkg-config (openssl, libcurl, zlib, libzstd, sqlite3,
// ISA-L).
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <curl/curl.h>
#include <zlib.h>
#include <zstd.h>
#include <sqlite3.h>
#include <isa-l/igzip_lib.h>
