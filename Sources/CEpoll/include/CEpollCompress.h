// Streaming decompression over zlib (inflate) and libzstd, as typed calls Swift can make.
#ifndef CEPOLL_COMPRESS_H
#define CEPOLL_COMPRESS_H
#include <stddef.h>

// zlib return codes, mirrored so Swift never sees a C macro.
enum {
    CEP_Z_OK = 0,
    CEP_Z_STREAM_END = 1,
    CEP_Z_NEED_DICT = 2,
    CEP_Z_STREAM_ERROR = -2,
    CEP_Z_DATA_ERROR = -3,
    CEP_Z_MEM_ERROR = -4,
    CEP_Z_BUF_ERROR = -5,
};

// inflate window bits per format: gzip only, zlib only, raw deflate (no header or trailer).
enum {
    CEP_INFLATE_GZIP = 31,
    CEP_INFLATE_ZLIB = 15,
    CEP_INFLATE_RAW = -15,
};

// A z_stream set up by inflateInit2 with `window_bits`; NULL when memory runs out.
void *cep_inflate_new(int window_bits);
// Starts a new stream of the same format (the next gzip member), keeping the allocations.
int cep_inflate_reset(void *stream);
// One inflate(Z_NO_FLUSH) call from in[0..<in_len] to out[0..<out_len]; reports the bytes it consumed and
// produced, and returns a CEP_Z_ code.
int cep_inflate_step(void *stream, const void *in, size_t in_len, size_t *in_used,
                     void *out, size_t out_len, size_t *out_made);
// zlib's message for the last error, or NULL.
const char *cep_inflate_message(void *stream);
void cep_inflate_free(void *stream);

// The same calls over ISA-L's igzip (isal_inflate: about twice zlib's speed on x86-64 and arm64), for
// the same window_bits values. Errors are CEP_Z_DATA_ERROR / CEP_Z_NEED_DICT with a message worded as
// zlib's for the same fault where one exists.
// CEP_INFLATE_GZIP and CEP_INFLATE_RAW only (anything else is taken as raw). For CEP_INFLATE_GZIP the
// caller reads each member's header itself (ISA-L's own header reader and
// zlib disagree on malformed extra fields); the stream starts at the deflate data and checks the trailer.
void *cep_isal_inflate_new(int window_bits);
int cep_isal_inflate_reset(void *stream);
int cep_isal_inflate_step(void *stream, const void *in, size_t in_len, size_t *in_used,
                          void *out, size_t out_len, size_t *out_made);
const char *cep_isal_inflate_message(void *stream);
void cep_isal_inflate_free(void *stream);

// zlib's CRC-32 (gzip's), continued from `crc` (0 to start) over buf[0..<len].
unsigned long cep_crc32(unsigned long crc, const void *buf, size_t len);

// Kinds of libzstd errors the caller words differently.
enum {
    CEP_ZSTD_OK = 0,
    CEP_ZSTD_WINDOW_TOO_LARGE = 1,
    CEP_ZSTD_CHECKSUM = 2,
    CEP_ZSTD_MEMORY = 3,
    CEP_ZSTD_CORRUPT = 4,
};

// A ZSTD_DCtx limited to windows of 2^window_log_max bytes; NULL when it cannot be made.
void *cep_zstd_new(int window_log_max);
// Drops any frame in progress (parameters are kept).
void cep_zstd_reset(void *dctx);
// One ZSTD_decompressStream call; reports the bytes consumed and produced. Returns 0 when a frame is
// complete and flushed, a positive hint while a frame is in progress, or an error code (see below).
size_t cep_zstd_step(void *dctx, const void *in, size_t in_len, size_t *in_used,
                     void *out, size_t out_len, size_t *out_made);
// CEP_ZSTD_OK when `result` is not an error, else its CEP_ZSTD_ kind.
int cep_zstd_error_kind(size_t result);
const char *cep_zstd_error_name(size_t result);
void cep_zstd_free(void *dctx);

#endif
