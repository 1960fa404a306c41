/* tls_floor: the "physical limit" row of the benchmark (scenario 7).
 *
 * An OpenSSL-only TLS terminator that answers every HTTP/1.1 request itself
 * with a fixed 200 and no upstream: one thread, epoll, non-blocking sockets,
 * one SSL object and one small buffer per connection, nothing else. No proxy
 * can be cheaper per request on the same TLS settings, so it gives the floor
 * that airgate, nginx and HAProxy are compared with.
 *
 *   tls_floor PORT CERT KEY        (listens on 127.0.0.1:PORT, TLS 1.3 only)
 *
 * Requests are recognised by their "\r\n\r\n" (GET without body, as the load
 * generator sends); a request head containing "Connection: close" is answered
 * and the connection closed, like a server would. Built by bench/run with
 * `cc -O2 tls_floor.c -lssl -lcrypto`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 8192

static const char kResponse[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n";
static const char kResponseClose[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

struct conn {
  int fd;
  SSL *ssl;
  int handshaken;
  int closing;           /* close once out is flushed */
  uint32_t events;       /* what epoll waits for now */
  size_t head_len;       /* bytes of the current unfinished request head */
  char head[HEAD_MAX];
  size_t out_len, out_off;
  char out[2048];
};

static void conn_free(int ep, struct conn *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  SSL_free(c->ssl);
  close(c->fd);
  free(c);
}

/* Returns 0 to keep, -1 to close. */
static int flush_out(struct conn *c, int *want) {
  while (c->out_off < c->out_len) {
    int n = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
    if (n <= 0) {
      int e = SSL_get_error(c->ssl, n);
      if (e == SSL_ERROR_WANT_WRITE) { *want = EPOLLOUT; return 0; }
      if (e == SSL_ERROR_WANT_READ) { *want = EPOLLIN; return 0; }
      return -1;
    }
    c->out_off += (size_t)n;
  }
  c->out_off = c->out_len = 0;
  return c->closing ? -1 : 0;
}

static void queue(struct conn *c, const char *s, size_t n) {
  if (c->out_len + n > sizeof c->out) return; /* pipelined too deep: drop (never with wrk) */
  memcpy(c->out + c->out_len, s, n);
  c->out_len += n;
}

/* Feeds received bytes through the request splitter. */
static void feed(struct conn *c, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (c->head_len < HEAD_MAX) c->head[c->head_len++] = p[i];
    size_t h = c->head_len;
    if (h >= 4 && memcmp(c->head + h - 4, "\r\n\r\n", 4) == 0) {
      c->head[h - 1] = 0;
      int close_it = strcasestr(c->head, "\nconnection: close") != NULL;
      if (close_it) { queue(c, kResponseClose, sizeof kResponseClose - 1); c->closing = 1; }
      else queue(c, kResponse, sizeof kResponse - 1);
      c->head_len = 0;
      if (close_it) return;
    }
  }
}

static int on_event(struct conn *c, int *want) {
  *want = EPOLLIN;
  if (!c->handshaken) {
    int r = SSL_accept(c->ssl);
    if (r <= 0) {
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_WANT_READ) return 0;
      if (e == SSL_ERROR_WANT_WRITE) { *want = EPOLLOUT; return 0; }
      return -1;
    }
    c->handshaken = 1;
  }
  if (c->out_len && flush_out(c, want) < 0) return -1;
  if (c->out_len) return 0;
  char buf[16384];
  for (;;) {
    int n = SSL_read(c->ssl, buf, sizeof buf);
    if (n <= 0) {
      int e = SSL_get_error(c->ssl, n);
      if (e == SSL_ERROR_WANT_READ) break;
      if (e == SSL_ERROR_WANT_WRITE) { *want = EPOLLOUT; break; }
      return -1; /* EOF or error */
    }
    feed(c, buf, (size_t)n);
    if (c->out_len && flush_out(c, want) < 0) return -1;
    if (c->out_len) return 0;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s PORT CERT KEY\n", argv[0]); return 2; }
  signal(SIGPIPE, SIG_IGN);
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_num_tickets(ctx, 0); /* clients here never resume; skip ticket work like a fresh client */
  if (SSL_CTX_use_certificate_chain_file(ctx, argv[2]) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, argv[3], SSL_FILETYPE_PEM) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 4096) != 0) { perror("listen"); return 1; }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  fprintf(stderr, "listening on https://127.0.0.1:%s\n", argv[1]);
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (!c) {
        for (;;) {
          int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          nc->ssl = SSL_new(ctx);
          nc->events = EPOLLIN;
          SSL_set_fd(nc->ssl, fd);
          struct epoll_event ce = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
        }
        continue;
      }
      int want;
      if (on_event(c, &want) < 0) { conn_free(ep, c); continue; }
      if ((uint32_t)want != c->events) {
        c->events = (uint32_t)want;
        struct epoll_event ce = {.events = c->events, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ce);
      }
    }
  }
}
