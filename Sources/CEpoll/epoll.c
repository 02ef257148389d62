// epoll, eventfd, signalfd, clocks and non-blocking sockets for the reactor.
#define _GNU_SOURCE
#include "CEpoll.h"
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int cep_epoll_create(void) { int r = epoll_create1(EPOLL_CLOEXEC); return r < 0 ? -errno : r; }

static int ctl(int ep, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = { .events = events, .data.u64 = data };
    return epoll_ctl(ep, op, fd, &ev) < 0 ? -errno : 0;
}
int cep_epoll_ctl_add(int ep, int fd, uint32_t events, uint64_t data) { return ctl(ep, EPOLL_CTL_ADD, fd, events, data); }
int cep_epoll_ctl_mod(int ep, int fd, uint32_t events, uint64_t data) { return ctl(ep, EPOLL_CTL_MOD, fd, events, data); }
int cep_epoll_ctl_del(int ep, int fd) { return ctl(ep, EPOLL_CTL_DEL, fd, 0, 0); }

int cep_epoll_wait(int ep, cep_event *out, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(ep, evs, max, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) { out[i].events = evs[i].events; out[i].data = evs[i].data.u64; }
    return n;
}

int cep_eventfd(void) { int r = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); return r < 0 ? -errno : r; }
int cep_eventfd_signal(int fd) { uint64_t one = 1; return write(fd, &one, 8) == 8 ? 0 : -errno; }
void cep_eventfd_drain(int fd) { uint64_t v; while (read(fd, &v, 8) == 8) {} }

void cep_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }
int cep_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0) < 0 ? -errno : 0; }

int cep_termination_signalfd(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -errno;
    cep_ignore_sigpipe();
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int cep_single_signalfd(int signo) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -errno;
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int cep_signalfd_read(int fd) {
    struct signalfd_siginfo si;
    ssize_t n = read(fd, &si, sizeof si);
    return n == (ssize_t)sizeof si ? (int)si.ssi_signo : 0;
}

void cep_set_thread_name(const char *name) { pthread_setname_np(pthread_self(), name); }

static _Thread_local void *thread_slot;
void cep_thread_slot_set(void *p) { thread_slot = p; }
void *cep_thread_slot_get(void) { return thread_slot; }

uint64_t cep_monotonic_ns(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
uint64_t cep_realtime_ms(void) {
    struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}
int cep_cpus_available(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) { int n = CPU_COUNT(&set); if (n > 0) return n; }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int cep_listen_tcp(const char *host, int port, int backlog, int reuseport, int *bound_port) {
    struct sockaddr_storage ss; memset(&ss, 0, sizeof ss);
    socklen_t len;
    int family;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    if (host == NULL || host[0] == 0) {
        family = AF_INET6; s6->sin6_family = AF_INET6; s6->sin6_addr = in6addr_any; s6->sin6_port = htons(port); len = sizeof *s6;
    } else if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        family = AF_INET; s4->sin_family = AF_INET; s4->sin_port = htons(port); len = sizeof *s4;
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        family = AF_INET6; s6->sin6_family = AF_INET6; s6->sin6_port = htons(port); len = sizeof *s6;
    } else {
        return -EINVAL;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && family == AF_INET6 && (host == NULL || host[0] == 0)) {
        // No IPv6 on this host: fall back to IPv4 any.
        memset(&ss, 0, sizeof ss); family = AF_INET;
        s4->sin_family = AF_INET; s4->sin_addr.s_addr = htonl(INADDR_ANY); s4->sin_port = htons(port); len = sizeof *s4;
        fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (fd < 0) return -errno;
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) { int e = errno; close(fd); return -e; }
    if (bound_port) {
        struct sockaddr_storage got; socklen_t gl = sizeof got;
        getsockname(fd, (struct sockaddr *)&got, &gl);
        *bound_port = got.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port)
                                                : ntohs(((struct sockaddr_in *)&got)->sin_port);
    }
    return fd;
}

int cep_accept(int listen_fd) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

ssize_t cep_read(int fd, void *buf, size_t len) {
    ssize_t n;
    do { n = read(fd, buf, len); } while (n < 0 && errno == EINTR);
    if (n < 0) return errno == EWOULDBLOCK ? CEP_AGAIN : -errno;
    return n;
}
ssize_t cep_write(int fd, const void *buf, size_t len) {
    ssize_t n;
    do { n = send(fd, buf, len, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    if (n < 0) return errno == EWOULDBLOCK ? CEP_AGAIN : -errno;
    return n;
}
long cep_nofile_soft_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return -1;
    return rl.rlim_cur > 0x7fffffff ? 0x7fffffff : (long)rl.rlim_cur;
}
int cep_close(int fd) { return close(fd) < 0 ? -errno : 0; }
int cep_shutdown_write(int fd) { return shutdown(fd, SHUT_WR) < 0 ? -errno : 0; }
const char *cep_strerror(int err) { return strerror(err < 0 ? -err : err); }
