// Thin C shim over epoll, eventfd, signalfd, non-blocking sockets and OpenSSL; no policy lives here.
#ifndef CEPOLL_H
#define CEPOLL_H
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

// Readiness bits, mirrored from epoll so Swift never sees a C macro.
enum {
    CEP_IN = 0x001,
    CEP_OUT = 0x004,
    CEP_ERR = 0x008,
    CEP_HUP = 0x010,
};

// Results of non-blocking I/O calls (negative values; a non-negative value is a byte count).
enum {
    CEP_AGAIN = -11,      // would block (EAGAIN)
    CEP_WANT_READ = -1001,
    CEP_WANT_WRITE = -1002,
    CEP_TLS_ERROR = -1003,
};

typedef struct { uint32_t events; uint64_t data; } cep_event;

int cep_epoll_create(void);
int cep_epoll_ctl_add(int ep, int fd, uint32_t events, uint64_t data);
int cep_epoll_ctl_mod(int ep, int fd, uint32_t events, uint64_t data);
int cep_epoll_ctl_del(int ep, int fd);
int cep_epoll_wait(int ep, cep_event *out, int max, int timeout_ms);

int cep_eventfd(void);
int cep_eventfd_signal(int fd);
void cep_eventfd_drain(int fd);

// Blocks SIGTERM and SIGINT in the calling thread (threads made later inherit the mask), ignores
// SIGPIPE, and returns a signalfd that reports the two signals.
int cep_termination_signalfd(void);
// Blocks `signo` for the calling thread (and threads it starts later) and returns a signalfd for it.
int cep_single_signalfd(int signo);
// Returns the signal number read from a signalfd, or 0 when none was pending.
int cep_signalfd_read(int fd);
// Ignores SIGPIPE process-wide (writes report EPIPE instead).
void cep_ignore_sigpipe(void);
/// Has the kernel send `sig` to the calling process when the thread that started it ends (prctl
/// PR_SET_PDEATHSIG, which Swift cannot call: prctl is variadic). 0, or -errno.
int cep_set_parent_death_signal(int sig);

// A per-thread pointer slot (the reactor running on this thread).
void cep_thread_slot_set(void *p);
void *cep_thread_slot_get(void);

// Names the calling thread (15 characters kept), for ps/top/perf.
void cep_set_thread_name(const char *name);

uint64_t cep_monotonic_ns(void);
uint64_t cep_realtime_ms(void);
int cep_cpus_available(void);

// Listens on host:port (IPv4 or IPv6 literal, NULL for all), non-blocking, SO_REUSEADDR, optionally
// SO_REUSEPORT. Returns the fd and the bound port, or -errno.
int cep_listen_tcp(const char *host, int port, int backlog, int reuseport, int *bound_port);
// accept4 with NONBLOCK|CLOEXEC and TCP_NODELAY; returns the fd or -errno.
int cep_accept(int listen_fd);
ssize_t cep_read(int fd, void *buf, size_t len);
ssize_t cep_write(int fd, const void *buf, size_t len);
int cep_close(int fd);
// The soft RLIMIT_NOFILE, or -1 when unlimited or unknown.
long cep_nofile_soft_limit(void);
int cep_shutdown_write(int fd);
const char *cep_strerror(int err);

// TLS (OpenSSL). Server contexts require TLS 1.2 or later and refuse renegotiation. Every session call
// starts from an empty OpenSSL error queue and leaves it empty, so sessions on one thread never see
// each other's errors; cep_tls_free sends close_notify only on an established, unfailed session.
void *cep_tls_server_ctx(const char *cert_pem, const char *key_pem, char *err, size_t errlen);
void cep_tls_ctx_free(void *ctx);
void *cep_tls_new(void *ctx, int fd);
int cep_tls_handshake(void *ssl);           // 1 done, CEP_WANT_READ, CEP_WANT_WRITE, CEP_TLS_ERROR
ssize_t cep_tls_read(void *ssl, void *buf, size_t len);   // n > 0, 0 = closed, or a CEP_ code
ssize_t cep_tls_write(void *ssl, const void *buf, size_t len);
void cep_tls_free(void *ssl);
// Copies the first error of this thread's last failed session call (or the oldest queued one) into buf (empty string when none) and clears the queue.
void cep_tls_error_string(char *buf, size_t len);
// Client contexts: TLS 1.2 or later, peer verification always on, the system CA bundle plus any
// file added with cep_tls_client_ctx_add_ca (0, or -1 with the reason in err).
void *cep_tls_client_ctx(char *err, size_t errlen);
int cep_tls_client_ctx_add_ca(void *ctx, const char *ca_pem, char *err, size_t errlen);
// A client session over fd for `host`: SNI when host is a name, and the certificate must name host
// (a DNS name, or an IP literal in its IP SANs).
void *cep_tls_client_new(void *ctx, int fd, const char *host);
// Why the peer's certificate was refused (empty when it was not).
void cep_tls_verify_error(void *ssl, char *buf, size_t len);

// Outbound TCP (connect.c). cep_resolve blocks (getaddrinfo): call it off the loop thread. It writes
// the addresses, in getaddrinfo's order, as numeric strings separated by '\n' (as many as fit);
// 0, or an EAI_ code (> 0) / -errno, for cep_resolve_strerror.
int cep_resolve(const char *host, char *out, size_t outlen);
const char *cep_resolve_strerror(int code);
// Starts a non-blocking TCP connect (TCP_NODELAY) to a numeric address; the fd, or -errno.
int cep_connect_tcp(const char *numeric, int port);
// SO_ERROR of a socket once it is writable after a connect: 0 or errno.
int cep_socket_error(int fd);
int cep_is_ip_literal(const char *host);

#include "CEpollCurl.h"
#include "CEpollHash.h"
#include "CEpollCompress.h"
#include "CEpollSQLite.h"
#endif
