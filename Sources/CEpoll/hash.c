// Streaming SHA-256 over OpenSSL's one-algorithm SHA256_* functions (the same CPU-dispatched assembly
// as EVP), and SHA-1 for the WebSocket handshake. EVP_DigestInit would first activate the default
// provider, building its whole algorithm table: hundreds of KiB of libcrypto touched for one hash.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "CEpollHash.h"
#include <stdlib.h>
#include <openssl/sha.h>

void *cep_sha256_new(void) {
    SHA256_CTX *ctx = malloc(sizeof *ctx);
    if (ctx && SHA256_Init(ctx) != 1) { free(ctx); return NULL; }
    return ctx;
}
void cep_sha256_update(void *ctx, const void *data, size_t len) { SHA256_Update((SHA256_CTX *)ctx, data, len); }
void cep_sha256_final(void *ctx, unsigned char *out32) {
    SHA256_Final(out32, (SHA256_CTX *)ctx);
    SHA256_Init((SHA256_CTX *)ctx);
}
void cep_sha256_free(void *ctx) { free(ctx); }

void cep_sha1(const void *data, size_t len, unsigned char *out20) { SHA1(data, len, out20); }
