// System libraries the project links, found through pkg-config (openssl, libcurl, zlib).
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <curl/curl.h>
#include <zlib.h>
