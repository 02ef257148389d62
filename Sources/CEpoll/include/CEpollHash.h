// Streaming SHA-256 (OpenSSL, hardware-accelerated where the CPU allows).
#ifndef CEPOLL_HASH_H
#define CEPOLL_HASH_H
#include <stddef.h>

void *cep_sha256_new(void);
void cep_sha256_update(void *ctx, const void *data, size_t len);
// Writes the 32-byte digest and resets the context for reuse.
void cep_sha256_final(void *ctx, unsigned char *out32);
void cep_sha256_free(void *ctx);
// SHA-1 of `data` into 20 bytes (RFC 6455's Sec-WebSocket-Accept; not for anything that needs security).
void cep_sha1(const void *data, size_t len, unsigned char *out20);

#endif
