// Streaming decompression glue: typed wrappers over zlib's inflate (inflateInit2 is a macro) and libzstd.
#include "CEpollCompress.h"
#include <limits.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

void *cep_inflate_new(int window_bits) {
    z_stream *s = calloc(1, sizeof(z_stream));
    if (!s) return NULL;
    if (inflateInit2(s, window_bits) != Z_OK) { free(s); return NULL; }
    return s;
}

int cep_inflate_reset(void *stream) { return inflateReset((z_stream *)stream); }

int cep_inflate_step(void *stream, const void *in, size_t in_len, size_t *in_used,
                     void *out, size_t out_len, size_t *out_made) {
    z_stream *s = stream;
    uInt avail_in = in_len > UINT_MAX ? UINT_MAX : (uInt)in_len;
    uInt avail_out = out_len > UINT_MAX ? UINT_MAX : (uInt)out_len;
    s->next_in = (Bytef *)in;
    s->avail_in = avail_in;
    s->next_out = out;
    s->avail_out = avail_out;
    int rc = inflate(s, Z_NO_FLUSH);
    *in_used = avail_in - s->avail_in;
    *out_made = avail_out - s->avail_out;
    s->next_in = NULL;
    s->next_out = NULL;
    return rc;
}

unsigned long cep_crc32(unsigned long crc, const void *buf, size_t len) {
    while (len > UINT_MAX) {
        crc = crc32(crc, buf, UINT_MAX);
        buf = (const unsigned char *)buf + UINT_MAX;
        len -= UINT_MAX;
    }
    return crc32(crc, buf, (uInt)len);
}

const char *cep_inflate_message(void *stream) { return ((z_stream *)stream)->msg; }

void cep_inflate_free(void *stream) {
    if (!stream) return;
    inflateEnd((z_stream *)stream);
    free(stream);
}

void *cep_zstd_new(int window_log_max) {
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d) return NULL;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, window_log_max))) { ZSTD_freeDCtx(d); return NULL; }
    return d;
}

void cep_zstd_reset(void *dctx) { ZSTD_DCtx_reset((ZSTD_DCtx *)dctx, ZSTD_reset_session_only); }

size_t cep_zstd_step(void *dctx, const void *in, size_t in_len, size_t *in_used,
                     void *out, size_t out_len, size_t *out_made) {
    ZSTD_inBuffer input = { in, in_len, 0 };
    ZSTD_outBuffer output = { out, out_len, 0 };
    size_t rc = ZSTD_decompressStream((ZSTD_DCtx *)dctx, &output, &input);
    *in_used = input.pos;
    *out_made = output.pos;
    return rc;
}

int cep_zstd_error_kind(size_t result) {
    if (!ZSTD_isError(result)) return CEP_ZSTD_OK;
    switch (ZSTD_getErrorCode(result)) {
    case ZSTD_error_frameParameter_windowTooLarge: return CEP_ZSTD_WINDOW_TOO_LARGE;
    case ZSTD_error_checksum_wrong: return CEP_ZSTD_CHECKSUM;
    case ZSTD_error_memory_allocation: return CEP_ZSTD_MEMORY;
    default: return CEP_ZSTD_CORRUPT;
    }
}

const char *cep_zstd_error_name(size_t result) { return ZSTD_getErrorName(result); }

void cep_zstd_free(void *dctx) { ZSTD_freeDCtx((ZSTD_DCtx *)dctx); }
