/* A new TLS connection per request, resumed when the server allows it: the
 * load of bench/run's scenario 10 (a browser coming back resumes its session;
 * wrk never does).
 *
 *   resume_load PORT CONNECTIONS SECONDS [--no-resume] [-H "Name: value"]...
 *
 * CONNECTIONS threads each loop: connect, TLS 1.3 handshake offering the
 * ticket of its previous connection, GET / with Connection: close, read the
 * answer to EOF, keep the newest ticket, close. Prints one line
 *   BENCH_JSON {"requests":..,"errors":..,"non2xx":..,"seconds":..,
 *               "p50_ms":..,"p99_ms":..,"resumed":..}
 * like bench/wrk_report.lua, so bench/run reads both the same way. Latency is
 * connect to EOF. Build: cc -O2 -pthread resume_load.c -lssl -lcrypto
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES (1 << 22)

static int port;
static double seconds;
static int resume = 1;
static char request[4096];
static SSL_CTX* ctx;
static double stop_at;
static atomic_long requests, errors, non2xx, resumed;
static float* samples; /* latency in ms */
static atomic_long n_samples;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One request on a new connection; 0 when it got a 2xx answer. */
static int one(SSL_SESSION** session) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one_ = 1, rc = -1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof one_);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr*)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (resume && *session) SSL_set_session(ssl, *session);
  if (SSL_connect(ssl) == 1 && SSL_write(ssl, request, (int)strlen(request)) > 0) {
    char buf[16384], head[16] = {0};
    size_t got = 0;
    int n;
    SSL_SESSION* s = NULL;
    while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) {
      /* The tickets came before the answer: keep the session now, before a
       * close without close_notify can mark it not resumable. */
      if (!s) s = SSL_get1_session(ssl);
      if (got < sizeof head - 1) {
        size_t k = sizeof head - 1 - got < (size_t)n ? sizeof head - 1 - got : (size_t)n;
        memcpy(head + got, buf, k);
      }
      got += (size_t)n;
    }
    if (got >= 12 && strncmp(head, "HTTP/1.", 7) == 0) {
      if (head[9] != '2') atomic_fetch_add(&non2xx, 1);
      rc = 0;
    }
    if (SSL_session_reused(ssl)) atomic_fetch_add(&resumed, 1);
    if (s && SSL_SESSION_is_resumable(s)) {
      if (*session) SSL_SESSION_free(*session);
      *session = s;
    } else if (s) {
      SSL_SESSION_free(s);
    }
  }
  /* The answer was read to its end: mark the connection shut down cleanly,
   * or SSL_free would mark the session not resumable (no close_notify is
   * sent: the server has closed already). */
  if (rc == 0) SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  ERR_clear_error();
  SSL_free(ssl);
  close(fd);
  return rc;
}

static void* loop(void* arg) {
  (void)arg;
  SSL_SESSION* session = NULL;
  while (now() < stop_at) {
    double t0 = now();
    if (one(&session) != 0) {
      atomic_fetch_add(&errors, 1);
      continue;
    }
    atomic_fetch_add(&requests, 1);
    long i = atomic_fetch_add(&n_samples, 1);
    if (i < MAX_SAMPLES) samples[i] = (float)((now() - t0) * 1000.0);
  }
  if (session) SSL_SESSION_free(session);
  return NULL;
}

static int cmp(const void* a, const void* b) {
  float x = *(const float*)a, y = *(const float*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: resume_load PORT CONNECTIONS SECONDS [--no-resume] [-H 'Name: value']...\n");
    return 2;
  }
  port = atoi(argv[1]);
  int conns = atoi(argv[2]);
  seconds = atof(argv[3]);
  char headers[2048] = "";
  for (int i = 4; i < argc; i++) {
    if (strcmp(argv[i], "--no-resume") == 0) {
      resume = 0;
    } else if (strcmp(argv[i], "-H") == 0 && i + 1 < argc) {
      strncat(headers, argv[++i], sizeof headers - strlen(headers) - 3);
      strcat(headers, "\r\n");
    }
  }
  if (port <= 0 || conns <= 0 || conns > 4096 || seconds <= 0) {
    fprintf(stderr, "resume_load: bad PORT, CONNECTIONS (1-4096) or SECONDS\n");
    return 2;
  }
  snprintf(request, sizeof request, "GET / HTTP/1.1\r\nHost: localhost\r\n%sConnection: close\r\n\r\n", headers);
  ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  /* Client-side sessions are kept by each thread itself (SSL_get1_session). */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  samples = malloc(sizeof(float) * MAX_SAMPLES);
  if (!ctx || !samples) return 1;
  pthread_t* t = calloc((size_t)conns, sizeof *t);
  double start = now();
  stop_at = start + seconds;
  for (int i = 0; i < conns; i++) pthread_create(&t[i], NULL, loop, NULL);
  for (int i = 0; i < conns; i++) pthread_join(t[i], NULL);
  double elapsed = now() - start;
  long n = atomic_load(&n_samples);
  if (n > MAX_SAMPLES) n = MAX_SAMPLES;
  qsort(samples, (size_t)n, sizeof(float), cmp);
  double p50 = n ? samples[(long)(0.50 * (n - 1))] : 0, p99 = n ? samples[(long)(0.99 * (n - 1))] : 0;
  printf("BENCH_JSON {\"requests\":%ld,\"errors\":%ld,\"non2xx\":%ld,\"seconds\":%.3f,\"p50_ms\":%.3f,"
         "\"p99_ms\":%.3f,\"resumed\":%ld}\n",
         atomic_load(&requests), atomic_load(&errors), atomic_load(&non2xx), elapsed, p50, p99,
         atomic_load(&resumed));
  return 0;
}
