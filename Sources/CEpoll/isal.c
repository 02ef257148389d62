// Streaming inflate over ISA-L's igzip, shaped like the zlib calls in compress.c (same return codes,
// zlib's wording for the same faults), so the Swift decoder drives either the same way.
#include "CEpollCompress.h"
#include <isa-l/igzip_lib.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    struct inflate_state state;
    uint32_t wrapper;            // ISAL_GZIP_NO_HDR_VER or ISAL_DEFLATE
    const char *message;         // why the last step failed, or NULL
} cep_isal_stream;

static uint32_t wrapper_for(int window_bits) {
    switch (window_bits) {
    case CEP_INFLATE_GZIP: return ISAL_GZIP_NO_HDR_VER;
    default: return ISAL_DEFLATE;
    }
}

void *cep_isal_inflate_new(int window_bits) {
    cep_isal_stream *s = calloc(1, sizeof(cep_isal_stream));
    if (!s) return NULL;
    s->wrapper = wrapper_for(window_bits);
    cep_isal_inflate_reset(s);
    return s;
}

int cep_isal_inflate_reset(void *stream) {
    cep_isal_stream *s = stream;
    isal_inflate_init(&s->state);
    s->state.crc_flag = s->wrapper;
    s->message = NULL;
    return CEP_Z_OK;
}

int cep_isal_inflate_step(void *stream, const void *in, size_t in_len, size_t *in_used,
                          void *out, size_t out_len, size_t *out_made) {
    cep_isal_stream *s = stream;
    uint32_t avail_in = in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)in_len;
    uint32_t avail_out = out_len > UINT32_MAX ? UINT32_MAX : (uint32_t)out_len;
    s->state.next_in = (uint8_t *)in;
    s->state.avail_in = avail_in;
    s->state.next_out = out;
    s->state.avail_out = avail_out;
    int rc = isal_inflate(&s->state);
    *in_used = avail_in - s->state.avail_in;
    *out_made = avail_out - s->state.avail_out;
    s->state.next_in = NULL;
    s->state.next_out = NULL;
    switch (rc) {
    case ISAL_DECOMP_OK:
        return s->state.block_state == ISAL_BLOCK_FINISH ? CEP_Z_STREAM_END : CEP_Z_OK;
    case ISAL_NEED_DICT: s->message = "need dictionary"; return CEP_Z_NEED_DICT;
    case ISAL_INVALID_WRAPPER: s->message = "incorrect header check"; break;
    case ISAL_UNSUPPORTED_METHOD: s->message = "unknown compression method"; break;
    // The gzip trailer: its CRC-32 and length, compared together.
    case ISAL_INCORRECT_CHECKSUM: s->message = "incorrect data check"; break;
    case ISAL_INVALID_LOOKBACK: s->message = "invalid distance too far back"; break;
    case ISAL_INVALID_SYMBOL: s->message = "invalid literal/length or distance code"; break;
    case ISAL_INVALID_BLOCK: s->message = "invalid block"; break;
    default: s->message = rc > 0 ? NULL : "unknown error"; return rc > 0 ? CEP_Z_OK : CEP_Z_DATA_ERROR;
    }
    return CEP_Z_DATA_ERROR;
}

const char *cep_isal_inflate_message(void *stream) { return ((cep_isal_stream *)stream)->message; }

void cep_isal_inflate_free(void *stream) { free(stream); }
