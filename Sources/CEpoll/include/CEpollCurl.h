// Typed wrappers over libcurl's variadic calls, callback installers, a CA-adding SSL_CTX hook, a connect hook.
#ifndef CEPOLL_CURL_H
#define CEPOLL_CURL_H
#include <curl/curl.h>

// libcurl's macros that Swift needs, mirrored as enum constants.
enum {
    CEP_CURL_POLL_NONE = CURL_POLL_NONE,
    CEP_CURL_POLL_IN = CURL_POLL_IN,
    CEP_CURL_POLL_OUT = CURL_POLL_OUT,
    CEP_CURL_POLL_INOUT = CURL_POLL_INOUT,
    CEP_CURL_POLL_REMOVE = CURL_POLL_REMOVE,
    CEP_CURL_CSELECT_IN = CURL_CSELECT_IN,
    CEP_CURL_CSELECT_OUT = CURL_CSELECT_OUT,
    CEP_CURL_CSELECT_ERR = CURL_CSELECT_ERR,
    CEP_CURL_SOCKET_TIMEOUT = CURL_SOCKET_TIMEOUT,
    CEP_CURL_WRITEFUNC_PAUSE = CURL_WRITEFUNC_PAUSE,
    CEP_CURL_READFUNC_PAUSE = CURL_READFUNC_PAUSE,
    CEP_CURL_READFUNC_ABORT = CURL_READFUNC_ABORT,
    CEP_CURL_SEEKFUNC_OK = CURL_SEEKFUNC_OK,
    CEP_CURL_SEEKFUNC_CANTSEEK = CURL_SEEKFUNC_CANTSEEK,
    CEP_CURLPAUSE_RECV = CURLPAUSE_RECV,
    CEP_CURLPAUSE_SEND = CURLPAUSE_SEND,
    CEP_CURLPAUSE_CONT = CURLPAUSE_CONT,
    CEP_CURL_ERROR_SIZE = CURL_ERROR_SIZE,
};

// curl_global_init(CURL_GLOBAL_DEFAULT) exactly once per process; returns its CURLcode.
int cep_curl_global_init(void);

// A multi handle whose socket and timer callbacks are installed with `ctx` as their user pointer.
CURLM *cep_curlm_new(curl_socket_callback on_socket, curl_multi_timer_callback on_timer, void *ctx);
CURLMcode cep_curlm_set_long(CURLM *m, CURLMoption opt, long value);
// Clears the socket and timer callbacks, so tearing the multi down calls back into nothing.
void cep_curlm_detach_callbacks(CURLM *m);
// Pops the next finished transfer: returns 1 and fills easy/result, or 0 when none is queued.
int cep_curlm_next_done(CURLM *m, CURL **easy, CURLcode *result);

CURLcode cep_curl_set_long(CURL *h, CURLoption opt, long value);
CURLcode cep_curl_set_off(CURL *h, CURLoption opt, curl_off_t value);
CURLcode cep_curl_set_str(CURL *h, CURLoption opt, const char *value);   // libcurl copies the string
CURLcode cep_curl_set_ptr(CURL *h, CURLoption opt, void *value);         // ERRORBUFFER, HTTPHEADER, ...

// Data callbacks share curl's (ptr, size, nmemb, userdata) shape; each installer sets FUNCTION and DATA.
typedef size_t (*cep_curl_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*cep_curl_seek_cb)(void *userdata, curl_off_t offset, int origin);
CURLcode cep_curl_on_write(CURL *h, cep_curl_data_cb cb, void *userdata);
CURLcode cep_curl_on_header(CURL *h, cep_curl_data_cb cb, void *userdata);
CURLcode cep_curl_on_read(CURL *h, cep_curl_data_cb cb, void *userdata);
CURLcode cep_curl_on_seek(CURL *h, cep_curl_seek_cb cb, void *userdata);

CURLcode cep_curl_info_long(CURL *h, CURLINFO info, long *out);
CURLcode cep_curl_info_str(CURL *h, CURLINFO info, const char **out);  // owned by the handle

// The CURLcode's identifier ("CURLE_OPERATION_TIMEDOUT"); "CURLE_<n>" for codes not listed.
const char *cep_curl_code_name(int code);

// A set of CA certificates, parsed once, filled from PEM files with cep_ca_bundle_add.
void *cep_ca_bundle_new(void);
// Adds the certificates of a PEM file; returns how many, or -1 with a message in err when the file cannot
// be read or holds no certificate.
int cep_ca_bundle_add(void *bundle, const char *path, char *err, size_t errlen);
void cep_ca_bundle_free(void *bundle);
// Installs CURLOPT_SSL_CTX_FUNCTION adding the bundle's certificates to each new SSL_CTX's X509 store,
// on top of the CAs libcurl already loaded. The bundle must outlive the handle.
CURLcode cep_curl_trust_ca_bundle(CURL *h, void *bundle);

// Asked before each outbound socket is opened, with the address libcurl resolved: family (AF_INET,
// AF_INET6, ...), the 4 or 16 address bytes in network order (NULL/0 for other families) and the port.
// Nonzero opens the socket; zero makes libcurl skip the address (CURL_SOCKET_BAD) without a packet sent.
typedef int (*cep_curl_connect_cb)(void *userdata, int family, const unsigned char *address, size_t length, int port);
struct cep_curl_connect_hook {
    cep_curl_connect_cb allow;
    void *userdata;
};
// Installs CURLOPT_OPENSOCKETFUNCTION consulting the hook, which must outlive the handle.
CURLcode cep_curl_on_connect(CURL *h, struct cep_curl_connect_hook *hook);

// Splits a URL with libcurl's parser: scheme, host and port (the scheme's default port when absent).
// Returns 0, or a CURLUcode; the strings are malloc'd (free with cep_curl_free).
int cep_curl_url_origin(const char *url, char **scheme, char **host, long *port);
void cep_curl_free(void *p);

#endif
