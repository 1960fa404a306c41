/* What OpenSSL alone keeps for one idle TLS 1.3 server connection.
 *
 *   cc -O2 -o /tmp/openssl_idle bench/openssl_idle.c -lssl -lcrypto
 *   /tmp/openssl_idle CERT.pem KEY.pem [N]
 *
 * Makes N (default 500) server connections over socketpairs with the same
 * settings airgate and nginx use (TLS 1.3, SSL_MODE_RELEASE_BUFFERS), one
 * request and one response on each, then frees the client side and keeps the
 * idle server SSL objects. Prints the heap growth per connection
 * (mallinfo2: bytes in use), with and without a server-side session cache and
 * session tickets. This is the floor under any OpenSSL-based proxy's
 * "memory per idle TLS connection" (bench scenario 6): airgate's own share is
 * what its measurement adds on top.
 */
#include <fcntl.h>
#include <malloc.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static SSL* server_connection(SSL_CTX* sctx, SSL_CTX* cctx) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return NULL;
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  fcntl(sv[1], F_SETFL, O_NONBLOCK);
  SSL* s = SSL_new(sctx);
  SSL* c = SSL_new(cctx);
  SSL_set_fd(s, sv[0]);
  SSL_set_fd(c, sv[1]);
  SSL_set_accept_state(s);
  SSL_set_connect_state(c);
  int done_s = 0, done_c = 0;
  for (int i = 0; i < 100 && !(done_s && done_c); i++) {
    if (!done_c) done_c = SSL_do_handshake(c) == 1;
    if (!done_s) done_s = SSL_do_handshake(s) == 1;
  }
  char buf[256];
  SSL_write(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
  for (int i = 0; i < 10 && SSL_read(s, buf, sizeof buf) <= 0; i++) {
  }
  SSL_write(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38);
  for (int i = 0; i < 10 && SSL_read(c, buf, sizeof buf) <= 0; i++) {
  }
  SSL_read(s, buf, sizeof buf); /* idle: nothing to read, buffers released */
  ERR_clear_error();
  SSL_free(c);
  close(sv[1]);
  if (!done_s) {
    SSL_free(s);
    close(sv[0]);
    return NULL;
  }
  return s;
}

static double per_connection(const char* cert, const char* key, int n, int cache, int tickets) {
  SSL_CTX* sctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
  SSL_CTX_set_mode(sctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(sctx, cache ? SSL_SESS_CACHE_SERVER : SSL_SESS_CACHE_OFF);
  if (!tickets) SSL_CTX_set_num_tickets(sctx, 0);
  if (SSL_CTX_use_certificate_chain_file(sctx, cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(sctx, key, SSL_FILETYPE_PEM) != 1) {
    fprintf(stderr, "openssl_idle: cannot load %s / %s\n", cert, key);
    exit(1);
  }
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  SSL** kept = calloc((size_t)n, sizeof *kept);
  SSL_free(server_connection(sctx, cctx)); /* warm-up: lazily built tables */
  const size_t before = mallinfo2().uordblks;
  int made = 0;
  for (int i = 0; i < n; i++)
    if ((kept[made] = server_connection(sctx, cctx)) != NULL) made++;
  const size_t after = mallinfo2().uordblks;
  for (int i = 0; i < made; i++) {
    close(SSL_get_fd(kept[i]));
    SSL_free(kept[i]);
  }
  free(kept);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
  return made ? (double)(after - before) / 1024.0 / made : -1;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: openssl_idle CERT.pem KEY.pem [N]\n");
    return 2;
  }
  const int n = argc > 3 ? atoi(argv[3]) : 500;
  printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
  printf("session cache on,  tickets on : %.1f KiB per idle TLS 1.3 connection\n", per_connection(argv[1], argv[2], n, 1, 1));
  printf("session cache off, tickets on : %.1f KiB\n", per_connection(argv[1], argv[2], n, 0, 1));
  printf("session cache off, tickets off: %.1f KiB\n", per_connection(argv[1], argv[2], n, 0, 0));
  return 0;
}
