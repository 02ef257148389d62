// Non-blocking OpenSSL server sessions over a socket fd; the caller drives readiness.
// OpenSSL's error queue is per thread and shared by every session on it, and SSL_get_error reads it:
// each call whose result is inspected starts from an empty queue, or one peer's failed handshake
// would read as a failure of the next session the thread serves.
#include "CEpoll.h"
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

// The first error of this thread's last failed session call, kept after the queue is cleared so the
// queue never outlives the call that filled it (libcurl's sessions share this thread's queue).
static _Thread_local unsigned long last_failure;

void cep_tls_error_string(char *buf, size_t len) {
    unsigned long e = ERR_get_error();
    if (!e) e = last_failure;
    last_failure = 0;
    if (len == 0) { ERR_clear_error(); return; }
    buf[0] = 0;
    if (e) ERR_error_string_n(e, buf, len);
    ERR_clear_error();
}

void *cep_tls_server_ctx(const char *cert_pem, const char *key_pem, char *err, size_t errlen) {
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) { cep_tls_error_string(err, errlen); return NULL; }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // Client-initiated renegotiation is a CPU lever for a hostile peer and nothing we need.
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_pem) != 1) {
        snprintf(err, errlen, "cannot load certificate chain %s: ", cert_pem);
        size_t l = strlen(err); cep_tls_error_string(err + l, errlen - l);
        SSL_CTX_free(ctx); return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_pem, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "cannot load private key %s: ", key_pem);
        size_t l = strlen(err); cep_tls_error_string(err + l, errlen - l);
        SSL_CTX_free(ctx); return NULL;
    }
    return ctx;
}

void cep_tls_ctx_free(void *ctx) { SSL_CTX_free((SSL_CTX *)ctx); }

void *cep_tls_new(void *ctx, int fd) {
    ERR_clear_error();
    SSL *ssl = SSL_new((SSL_CTX *)ctx);
    if (!ssl) { ERR_clear_error(); return NULL; }
    if (SSL_set_fd(ssl, fd) != 1) { SSL_free(ssl); ERR_clear_error(); return NULL; }
    SSL_set_accept_state(ssl);
    return ssl;
}

static ssize_t verdict(SSL *ssl, int r) {
    switch (SSL_get_error(ssl, r)) {
    case SSL_ERROR_WANT_READ: return CEP_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return CEP_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: return 0;
    default:
        // A fatal error: no close_notify may follow (SSL_shutdown after one is forbidden).
        SSL_set_quiet_shutdown(ssl, 1);
        last_failure = ERR_peek_error();
        ERR_clear_error();
        return CEP_TLS_ERROR;
    }
}

int cep_tls_handshake(void *p) {
    SSL *ssl = p;
    ERR_clear_error();
    int r = SSL_do_handshake(ssl);
    if (r == 1) return 1;
    ssize_t v = verdict(ssl, r);
    return v == 0 ? CEP_TLS_ERROR : (int)v;
}

ssize_t cep_tls_read(void *p, void *buf, size_t len) {
    SSL *ssl = p;
    size_t got = 0;
    ERR_clear_error();
    int r = SSL_read_ex(ssl, buf, len, &got);
    return r == 1 ? (ssize_t)got : verdict(ssl, r);
}

ssize_t cep_tls_write(void *p, const void *buf, size_t len) {
    SSL *ssl = p;
    size_t put = 0;
    ERR_clear_error();
    int r = SSL_write_ex(ssl, buf, len, &put);
    if (r == 1) return (ssize_t)put;
    ssize_t v = verdict(ssl, r);
    return v == 0 ? CEP_TLS_ERROR : v;
}

void cep_tls_free(void *p) {
    SSL *ssl = p;
    if (!ssl) return;
    // close_notify only on an established session whose peer has not failed it: a shutdown sent
    // mid-handshake (or after a fatal error) queues errors and may write to a broken socket.
    if (SSL_is_init_finished(ssl) && !SSL_get_quiet_shutdown(ssl)) {
        ERR_clear_error();
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    ERR_clear_error();
}

void *cep_tls_client_ctx(char *err, size_t errlen) {
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) { cep_tls_error_string(err, errlen); return NULL; }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(err, errlen, "cannot load the system CA certificates: ");
        size_t l = strlen(err); cep_tls_error_string(err + l, errlen - l);
        SSL_CTX_free(ctx); return NULL;
    }
    return ctx;
}

int cep_tls_client_ctx_add_ca(void *ctx, const char *ca_pem, char *err, size_t errlen) {
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations((SSL_CTX *)ctx, ca_pem, NULL) != 1) {
        snprintf(err, errlen, "cannot load CA certificates %s: ", ca_pem);
        size_t l = strlen(err); cep_tls_error_string(err + l, errlen - l);
        return -1;
    }
    return 0;
}

void *cep_tls_client_new(void *ctx, int fd, const char *host) {
    ERR_clear_error();
    SSL *ssl = SSL_new((SSL_CTX *)ctx);
    if (!ssl) { ERR_clear_error(); return NULL; }
    if (SSL_set_fd(ssl, fd) != 1) { SSL_free(ssl); ERR_clear_error(); return NULL; }
    int ok;
    if (cep_is_ip_literal(host)) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    } else {
        ok = SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
    }
    if (!ok) { SSL_free(ssl); ERR_clear_error(); return NULL; }
    SSL_set_connect_state(ssl);
    return ssl;
}

void cep_tls_verify_error(void *p, char *buf, size_t len) {
    if (len == 0) return;
    buf[0] = 0;
    long r = SSL_get_verify_result((SSL *)p);
    if (r != X509_V_OK) snprintf(buf, len, "%s", X509_verify_cert_error_string(r));
}
