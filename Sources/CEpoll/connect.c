// Outbound TCP for the reactor: name resolution (blocking: call it off the loop thread), a
// non-blocking connect and its outcome. No policy: which address, which proxy, is the caller's.
#define _GNU_SOURCE
#include "CEpoll.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int cep_resolve(const char *host, char *out, size_t outlen) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    int r = getaddrinfo(host, NULL, &hints, &res);
    if (r != 0) return r == EAI_SYSTEM ? -errno : r;
    size_t used = 0;
    int count = 0;
    if (outlen) out[0] = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        const void *src = a->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
                        : a->ai_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr : NULL;
        char one[INET6_ADDRSTRLEN];
        if (!src || !inet_ntop(a->ai_family, src, one, sizeof one)) continue;
        size_t l = strlen(one);
        if (used + l + 2 > outlen) break;           // what fits; the rest are not tried
        if (used) out[used++] = '\n';
        memcpy(out + used, one, l + 1);
        used += l;
        count++;
    }
    freeaddrinfo(res);
    return count ? 0 : EAI_NONAME;
}

const char *cep_resolve_strerror(int code) { return code < 0 ? strerror(-code) : gai_strerror(code); }

int cep_connect_tcp(const char *numeric, int port) {
    struct sockaddr_storage ss; memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    if (inet_pton(AF_INET, numeric, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET; s4->sin_port = htons(port); len = sizeof *s4;
    } else if (inet_pton(AF_INET6, numeric, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6; s6->sin6_port = htons(port); len = sizeof *s6;
    } else {
        return -EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int r;
    do { r = connect(fd, (struct sockaddr *)&ss, len); } while (r < 0 && errno == EINTR);
    if (r < 0 && errno != EINPROGRESS) { int e = errno; close(fd); return -e; }
    return fd;
}

int cep_socket_error(int fd) {
    int err = 0; socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
}

int cep_is_ip_literal(const char *host) {
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}
