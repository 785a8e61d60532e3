#include "http_get.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>


namespace vivace::cli {
namespace {

constexpr size_t kMaxResponseBytes = 256u << 20;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// "transfer-encoding: chunked" bodies: hex size line, data, CRLF, ..., a zero-size chunk.
Result<std::string> Dechunk(std::string_view in) {
  std::string out;
  for (;;) {
    size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return DataLoss("truncated chunked body");
    std::string size_text(in.substr(0, in.find_first_of(";\r")));
    char* end = nullptr;
    unsigned long long n = std::strtoull(size_text.c_str(), &end, 16);
    if (size_text.empty() || end == nullptr || *end != '\0') return DataLoss("bad chunk size \"" + size_text + "\"");
    in.remove_prefix(eol + 2);
    if (n == 0) return out;
    if (n + 2 > in.size()) return DataLoss("truncated chunked body");
    out.append(in.substr(0, n));
    in.remove_prefix(n + 2);
  }
}

}  // namespace

Result<HttpResponse> HttpGet(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                             std::chrono::milliseconds timeout) {
  constexpr std::string_view kScheme = "http://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) return InvalidArgument("only http:// URLs are supported: " + url);
  std::string rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string host = authority, port = "80";
  if (size_t colon = authority.rfind(':'); colon != std::string::npos && authority.find(']') == std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgument("no host in " + url);

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Unavailable("cannot resolve " + host + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> addrs(found, freeaddrinfo);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left_ms = [&] {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(0, ms.count()));
  };
  std::string why = "no address";
  for (addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next) {
    Fd fd(socket(a->ai_family, a->ai_socktype, a->ai_protocol));
    if (fd.get() < 0) continue;
    if (connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
      why = std::strerror(errno);
      continue;
    }
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: " + authority + "\r\nConnection: close\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    req += "\r\n";
    for (size_t sent = 0; sent < req.size();) {
      ssize_t n = send(fd.get(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return Unavailable("cannot send to " + authority + ": " + std::strerror(errno));
      sent += static_cast<size_t>(n);
    }
    std::string raw;
    char buf[65536];
    for (;;) {
      pollfd p{fd.get(), POLLIN, 0};
      int ready = poll(&p, 1, left_ms());
      if (ready == 0) return Status(StatusCode::kDeadlineExceeded, "no complete answer from " + authority + " in time");
      if (ready < 0) return Unavailable(std::string("poll: ") + std::strerror(errno));
      ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
      if (n < 0) return Unavailable("cannot read from " + authority + ": " + std::strerror(errno));
      if (n == 0) break;
      raw.append(buf, static_cast<size_t>(n));
      if (raw.size() > kMaxResponseBytes) return ResourceExhausted("answer larger than 256 MiB");
    }
    size_t head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) {
      return DataLoss("not an HTTP answer from " + authority);
    }
    HttpResponse out;
    size_t sp = raw.find(' ');
    out.status = std::atoi(raw.c_str() + sp + 1);
    std::string head = raw.substr(0, head_end);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view body(raw.data() + head_end + 4, raw.size() - head_end - 4);
    if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
      VV_ASSIGN_OR_RETURN(out.body, Dechunk(body));
    } else {
      out.body = std::string(body);
    }
    return out;
  }
  return Unavailable("cannot connect to " + authority + ": " + why);
}

}  // namespace vivace::cli
