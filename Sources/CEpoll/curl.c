// libcurl glue: typed setopt/getinfo wrappers, callback installers, CURLcode names, extra CA trust, connect hook.
#include "CEpoll.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result;
static void global_init(void) { global_result = curl_global_init(CURL_GLOBAL_DEFAULT); }
int cep_curl_global_init(void) { pthread_once(&global_once, global_init); return (int)global_result; }

CURLM *cep_curlm_new(curl_socket_callback on_socket, curl_multi_timer_callback on_timer, void *ctx) {
    CURLM *m = curl_multi_init();
    if (!m) return NULL;
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, ctx);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m, CURLMOPT_TIMERDATA, ctx);
    return m;
}

CURLMcode cep_curlm_set_long(CURLM *m, CURLMoption opt, long value) { return curl_multi_setopt(m, opt, value); }

void cep_curlm_detach_callbacks(CURLM *m) {
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, (curl_socket_callback)NULL);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, (curl_multi_timer_callback)NULL);
}

int cep_curlm_next_done(CURLM *m, CURL **easy, CURLcode *result) {
    int queued;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m, &queued))) {
        if (msg->msg != CURLMSG_DONE) continue;
        *easy = msg->easy_handle;
        *result = msg->data.result;
        return 1;
    }
    return 0;
}

CURLcode cep_curl_set_long(CURL *h, CURLoption opt, long value) { return curl_easy_setopt(h, opt, value); }
CURLcode cep_curl_set_off(CURL *h, CURLoption opt, curl_off_t value) { return curl_easy_setopt(h, opt, value); }
CURLcode cep_curl_set_str(CURL *h, CURLoption opt, const char *value) { return curl_easy_setopt(h, opt, value); }
CURLcode cep_curl_set_ptr(CURL *h, CURLoption opt, void *value) { return curl_easy_setopt(h, opt, value); }

static CURLcode install(CURL *h, CURLoption fn_opt, void *fn, CURLoption data_opt, void *userdata) {
    CURLcode r = curl_easy_setopt(h, fn_opt, fn);
    return r != CURLE_OK ? r : curl_easy_setopt(h, data_opt, userdata);
}
CURLcode cep_curl_on_write(CURL *h, cep_curl_data_cb cb, void *ud) { return install(h, CURLOPT_WRITEFUNCTION, (void *)cb, CURLOPT_WRITEDATA, ud); }
CURLcode cep_curl_on_header(CURL *h, cep_curl_data_cb cb, void *ud) { return install(h, CURLOPT_HEADERFUNCTION, (void *)cb, CURLOPT_HEADERDATA, ud); }
CURLcode cep_curl_on_read(CURL *h, cep_curl_data_cb cb, void *ud) { return install(h, CURLOPT_READFUNCTION, (void *)cb, CURLOPT_READDATA, ud); }
CURLcode cep_curl_on_seek(CURL *h, cep_curl_seek_cb cb, void *ud) { return install(h, CURLOPT_SEEKFUNCTION, (void *)cb, CURLOPT_SEEKDATA, ud); }

CURLcode cep_curl_info_long(CURL *h, CURLINFO info, long *out) { return curl_easy_getinfo(h, info, out); }
CURLcode cep_curl_info_str(CURL *h, CURLINFO info, const char **out) {
    char *s = NULL;
    CURLcode r = curl_easy_getinfo(h, info, &s);
    *out = s;
    return r;
}

const char *cep_curl_code_name(int code) {
#define N(c) case c: return #c;
    switch (code) {
    N(CURLE_OK) N(CURLE_UNSUPPORTED_PROTOCOL) N(CURLE_FAILED_INIT) N(CURLE_URL_MALFORMAT)
    N(CURLE_NOT_BUILT_IN) N(CURLE_COULDNT_RESOLVE_PROXY) N(CURLE_COULDNT_RESOLVE_HOST)
    N(CURLE_COULDNT_CONNECT) N(CURLE_WEIRD_SERVER_REPLY) N(CURLE_REMOTE_ACCESS_DENIED)
    N(CURLE_HTTP2) N(CURLE_PARTIAL_FILE) N(CURLE_HTTP_RETURNED_ERROR) N(CURLE_WRITE_ERROR)
    N(CURLE_UPLOAD_FAILED) N(CURLE_READ_ERROR) N(CURLE_OUT_OF_MEMORY) N(CURLE_OPERATION_TIMEDOUT)
    N(CURLE_RANGE_ERROR) N(CURLE_HTTP_POST_ERROR) N(CURLE_SSL_CONNECT_ERROR) N(CURLE_BAD_DOWNLOAD_RESUME)
    N(CURLE_FUNCTION_NOT_FOUND) N(CURLE_ABORTED_BY_CALLBACK) N(CURLE_BAD_FUNCTION_ARGUMENT)
    N(CURLE_INTERFACE_FAILED) N(CURLE_TOO_MANY_REDIRECTS) N(CURLE_UNKNOWN_OPTION)
    N(CURLE_GOT_NOTHING) N(CURLE_SSL_ENGINE_NOTFOUND) N(CURLE_SSL_ENGINE_SETFAILED) N(CURLE_SEND_ERROR)
    N(CURLE_RECV_ERROR) N(CURLE_SSL_CERTPROBLEM) N(CURLE_SSL_CIPHER) N(CURLE_PEER_FAILED_VERIFICATION)
    N(CURLE_BAD_CONTENT_ENCODING) N(CURLE_FILESIZE_EXCEEDED) N(CURLE_SEND_FAIL_REWIND)
    N(CURLE_SSL_ENGINE_INITFAILED) N(CURLE_LOGIN_DENIED) N(CURLE_SSL_CACERT_BADFILE)
    N(CURLE_SSL_SHUTDOWN_FAILED) N(CURLE_AGAIN) N(CURLE_SSL_CRL_BADFILE) N(CURLE_SSL_ISSUER_ERROR)
    N(CURLE_CHUNK_FAILED) N(CURLE_NO_CONNECTION_AVAILABLE) N(CURLE_SSL_PINNEDPUBKEYNOTMATCH)
    N(CURLE_SSL_INVALIDCERTSTATUS) N(CURLE_HTTP2_STREAM) N(CURLE_RECURSIVE_API_CALL) N(CURLE_AUTH_ERROR)
    N(CURLE_HTTP3) N(CURLE_QUIC_CONNECT_ERROR) N(CURLE_PROXY) N(CURLE_SSL_CLIENTCERT) N(CURLE_UNRECOVERABLE_POLL)
    default: break;
    }
#undef N
    static __thread char buf[32];
    snprintf(buf, sizeof buf, "CURLE_%d", code);
    return buf;
}

void *cep_ca_bundle_new(void) { return sk_X509_new_null(); }

int cep_ca_bundle_add(void *bundle, const char *path, char *err, size_t errlen) {
    STACK_OF(X509) *certs = bundle;
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)); return -1; }
    STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read(f, NULL, NULL, NULL);
    fclose(f);
    int added = 0;
    for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *info = sk_X509_INFO_value(infos, i);
        if (!info->x509 || X509_up_ref(info->x509) != 1) continue;
        if (sk_X509_push(certs, info->x509) > 0) added++; else X509_free(info->x509);
    }
    if (infos) sk_X509_INFO_pop_free(infos, X509_INFO_free);
    ERR_clear_error();
    if (added == 0) { snprintf(err, errlen, "no PEM certificate found in %s", path); return -1; }
    return added;
}

void cep_ca_bundle_free(void *bundle) { if (bundle) sk_X509_pop_free((STACK_OF(X509) *)bundle, X509_free); }

static CURLcode add_bundle_to_ctx(CURL *h, void *ssl_ctx, void *bundle) {
    (void)h;
    X509_STORE *store = SSL_CTX_get_cert_store((SSL_CTX *)ssl_ctx);
    STACK_OF(X509) *certs = bundle;
    // A store libcurl caches across connections already holds them; the duplicate error is harmless.
    for (int i = 0; i < sk_X509_num(certs); i++) X509_STORE_add_cert(store, sk_X509_value(certs, i));
    ERR_clear_error();
    return CURLE_OK;
}

CURLcode cep_curl_trust_ca_bundle(CURL *h, void *bundle) {
    return install(h, CURLOPT_SSL_CTX_FUNCTION, (void *)add_bundle_to_ctx, CURLOPT_SSL_CTX_DATA, bundle);
}

// CURLOPT_OPENSOCKETFUNCTION: show the hook the address, then open the socket only if it agrees.
static curl_socket_t open_socket_if_allowed(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
    (void)purpose;
    struct cep_curl_connect_hook *hook = clientp;
    const unsigned char *bytes = NULL;
    size_t length = 0;
    int port = 0;
    if (a->family == AF_INET && a->addrlen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->addr;
        bytes = (const unsigned char *)&sin->sin_addr; length = 4; port = ntohs(sin->sin_port);
    } else if (a->family == AF_INET6 && a->addrlen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->addr;
        bytes = (const unsigned char *)&sin6->sin6_addr; length = 16; port = ntohs(sin6->sin6_port);
    }
    if (!hook->allow(hook->userdata, a->family, bytes, length, port)) return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

CURLcode cep_curl_on_connect(CURL *h, struct cep_curl_connect_hook *hook) {
    return install(h, CURLOPT_OPENSOCKETFUNCTION, (void *)open_socket_if_allowed, CURLOPT_OPENSOCKETDATA, hook);
}

int cep_curl_url_origin(const char *url, char **scheme, char **host, long *port) {
    *scheme = NULL; *host = NULL; *port = 0;
    CURLU *u = curl_url();
    if (!u) return CURLUE_OUT_OF_MEMORY;
    char *p = NULL;
    CURLUcode r = curl_url_set(u, CURLUPART_URL, url, 0);
    if (!r) r = curl_url_get(u, CURLUPART_SCHEME, scheme, 0);
    if (!r) r = curl_url_get(u, CURLUPART_HOST, host, 0);
    if (!r) r = curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT);
    if (!r) *port = strtol(p, NULL, 10);
    curl_free(p);
    curl_url_cleanup(u);
    if (r) { curl_free(*scheme); curl_free(*host); *scheme = NULL; *host = NULL; }
    return (int)r;
}

void cep_curl_free(void *p) { curl_free(p); }
