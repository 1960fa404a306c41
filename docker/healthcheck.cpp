// airgate-healthcheck: the image's HEALTHCHECK. The runtime image has no shell
// and no curl, so this tiny program does one plain-HTTP GET against the admin
// endpoint and exits 0 when the answer is 200, else 1.
//
//   airgate-healthcheck [HOST:PORT[/PATH]]
//
// Default: $AIRGATE_HEALTHCHECK, else 127.0.0.1:9901/healthz. HOST is an IP
// literal ("[::1]:9901" for IPv6), as airgate's admin.address is. Only libc.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

static int fail(const std::string& why) {
  std::fprintf(stderr, "airgate-healthcheck: %s\n", why.c_str());
  return 1;
}

int main(int argc, char** argv) {
  std::string target = "127.0.0.1:9901/healthz";
  if (const char* env = std::getenv("AIRGATE_HEALTHCHECK"); env && *env) target = env;
  if (argc > 1) target = argv[1];

  std::string path = "/healthz";
  if (auto slash = target.find('/'); slash != std::string::npos) {
    path = target.substr(slash);
    target.resize(slash);
  }
  auto colon = target.rfind(':');
  if (colon == std::string::npos) return fail("expected HOST:PORT, got \"" + target + "\"");
  std::string host = target.substr(0, colon);
  int port = std::atoi(target.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return fail("bad port in \"" + target + "\"");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  // A wildcard listen address is reached through loopback.
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";

  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v6);
  } else {
    return fail("host must be an IP address, got \"" + host + "\"");
  }

  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
  timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0)
    return fail("connect " + target + ": " + std::strerror(errno));

  std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + target + "\r\nUser-Agent: airgate-healthcheck\r\n\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
    return fail(std::string("send: ") + std::strerror(errno));

  char buf[256];
  std::string head;
  while (head.find("\r\n") == std::string::npos && head.size() < 200) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    head.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  std::string line = head.substr(0, head.find("\r\n"));
  // "HTTP/1.x 200 ..."
  if (line.size() >= 12 && line.compare(0, 5, "HTTP/") == 0 && line.compare(8, 5, " 200 ") == 0) return 0;
  if (line.size() >= 12 && line.compare(0, 5, "HTTP/") == 0 && line.size() == 12 && line.compare(8, 4, " 200") == 0) return 0;
  return fail("GET " + path + " on " + target + ": " + (line.empty() ? std::string("no answer") : line));
}
