// Streaming SHA-256 over OpenSSL's EVP interface (hardware-accelerated where the CPU allows).
#include "CEpollHash.h"
#include <openssl/evp.h>

void *cep_sha256_new(void) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) { EVP_MD_CTX_free(ctx); return NULL; }
    return ctx;
}
void cep_sha256_update(void *ctx, const void *data, size_t len) { EVP_DigestUpdate((EVP_MD_CTX *)ctx, data, len); }
void cep_sha256_final(void *ctx, unsigned char *out32) {
    unsigned int n = 32;
    EVP_DigestFinal_ex((EVP_MD_CTX *)ctx, out32, &n);
    EVP_DigestInit_ex((EVP_MD_CTX *)ctx, EVP_sha256(), NULL);
}
void cep_sha256_free(void *ctx) { EVP_MD_CTX_free((EVP_MD_CTX *)ctx); }
