#include "exporters/otlp_http.h"

#include <simdjson.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "base/compression.h"
#include "base/logging.h"
#include "base/mutex.h"
#include "base/strings.h"
#include "exporters/otlp_grpc.h"
#include "model/tenant.h"

namespace vivace::exporters {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr uint64_t kMaxResponseBytes = 64u << 20;
constexpr size_t kMaxErrorMessage = 1024;  // bytes of a non-protobuf error body quoted in errors

struct Url {
  bool https = false;
  std::string host;  // without brackets
  std::string port;
  std::string target;       // path and query
  std::string host_header;  // as written in the URL
};

Result<Url> ParseUrl(std::string_view url) {
  Url u;
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    u.https = true;
    rest = url.substr(8);
  } else {
    return InvalidArgument("\"" + std::string(url) + "\" is not an http:// or https:// URL");
  }
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (size_t hash = target.find('#'); hash != std::string_view::npos)
    target = target.substr(0, hash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return InvalidArgument("URL \"" + std::string(url) + "\" has no host, or has user info");
  }
  u.host_header = std::string(authority);
  std::string_view port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return InvalidArgument("bad IPv6 host in \"" + std::string(url) + "\"");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgument("bad host in \"" + std::string(url) + "\"");
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return InvalidArgument("URL \"" + std::string(url) + "\" has no host");
  for (char c : port) {
    if (c < '0' || c > '9') return InvalidArgument("bad port in \"" + std::string(url) + "\"");
  }
  u.port = port.empty() ? (u.https ? "443" : "80") : std::string(port);
  u.target = target.empty() ? "/" : std::string(target);
  if (u.target.front() == '?') u.target = "/" + u.target;
  return u;
}

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

StatusCode CodeForHttpStatus(int status) {
  switch (status) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 429:
      return StatusCode::kResourceExhausted;
    case 502:
    case 503:
    case 504:
      return StatusCode::kUnavailable;
    default:
      break;
  }
  if (status >= 400 && status < 500) return StatusCode::kFailedPrecondition;
  if (status >= 500) return StatusCode::kInternal;
  return StatusCode::kUnknown;
}

void ParsePartialSuccessJson(std::string_view body, Attempt* a) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc, ps, rejected;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) return;
  if (doc["partialSuccess"].get(ps) != simdjson::SUCCESS) return;
  if (ps["rejectedSpans"].get(rejected) == simdjson::SUCCESS) {
    int64_t n = 0;
    std::string_view text;
    if (rejected.get(n) == simdjson::SUCCESS) {
      a->rejected_spans = n > 0 ? static_cast<uint64_t>(n) : 0;
    } else if (rejected.get(text) == simdjson::SUCCESS) {
      a->rejected_spans = std::strtoull(std::string(text).c_str(), nullptr, 10);
    }
  }
  std::string_view message;
  if (ps["errorMessage"].get(message) == simdjson::SUCCESS)
    a->rejected_message = std::string(message);
}

std::string ErrorMessageFromBody(std::string_view content_type, std::string_view body) {
  if (Contains(content_type, "protobuf")) return MessageFromRpcStatus(body);
  if (Contains(content_type, "json")) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view message;
    if (parser.parse(body.data(), body.size()).get(doc) == simdjson::SUCCESS &&
        doc["message"].get(message) == simdjson::SUCCESS) {
      return std::string(message);
    }
  }
  std::string_view text = Trim(body.substr(0, kMaxErrorMessage));
  return std::string(text);
}

// Runs one asynchronous operation on `ioc` to completion: Beast's stream timeouts only apply
// to asynchronous operations, so the "synchronous" client drives its own io_context.
template <typename Start>
beast::error_code RunOp(asio::io_context& ioc, Start&& start) {
  beast::error_code result = asio::error::would_block;
  bool done = false;
  start([&](beast::error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  ioc.restart();
  while (!done && ioc.run_one() > 0) {
  }
  return result;
}

bool IsStaleConnectionError(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

struct Exchange {
  beast::error_code ec;
  const char* step = "";  // what failed
  bool stale = false;     // failed on a reused connection before any response byte
  http::response<http::string_body> response;
};

// One keep-alive connection: its own io_context, a TCP or TLS stream. Thread-compatible.
class Connection {
 public:
  Connection(const Url& url, ssl::context* tls, const std::string& server_name)
      : url_(url), server_name_(server_name) {
    if (tls != nullptr) {
      tls_.emplace(ioc_, *tls);
    } else {
      tcp_.emplace(ioc_);
    }
  }

  Exchange RoundTrip(const http::request<http::string_body>& req, Millis timeout) {
    Exchange x;
    beast::tcp_stream& socket = tls_ ? beast::get_lowest_layer(*tls_) : *tcp_;
    if (timeout.count() > 0) {
      socket.expires_after(timeout);  // the whole exchange: connect, write and read
    } else {
      socket.expires_never();
    }
    const bool reused = connected_;
    if (!connected_) {
      x.ec = Connect(&x.step);
      if (x.ec) return x;
      connected_ = true;
    }
    if (tls_) {
      Send(*tls_, req, reused, &x);
    } else {
      Send(*tcp_, req, reused, &x);
    }
    socket.expires_never();
    return x;
  }

  bool connected() const { return connected_; }

 private:
  beast::error_code Connect(const char** step) {
    tcp::resolver resolver(ioc_);
    tcp::resolver::results_type endpoints;
    beast::error_code ec = RunOp(ioc_, [&](auto&& handler) {
      resolver.async_resolve(
          url_.host, url_.port,
          [&, handler](beast::error_code e, tcp::resolver::results_type r) mutable {
            endpoints = std::move(r);
            handler(e);
          });
    });
    if (ec) {
      *step = "resolve";
      return ec;
    }
    beast::tcp_stream& socket = tls_ ? beast::get_lowest_layer(*tls_) : *tcp_;
    ec = RunOp(ioc_, [&](auto&& handler) { socket.async_connect(endpoints, handler); });
    if (ec) {
      *step = "connect";
      return ec;
    }
    beast::error_code ignored;
    socket.socket().set_option(tcp::no_delay(true), ignored);
    if (tls_) {
      beast::error_code not_ip;
      asio::ip::make_address(server_name_, not_ip);
      if (not_ip)
        SSL_set_tlsext_host_name(tls_->native_handle(), server_name_.c_str());  // SNI: names only
      ec = RunOp(ioc_,
                 [&](auto&& handler) { tls_->async_handshake(ssl::stream_base::client, handler); });
      if (ec) {
        *step = "TLS handshake";
        return ec;
      }
    }
    return {};
  }

  template <typename Stream>
  void Send(Stream& stream, const http::request<http::string_body>& req, bool reused, Exchange* x) {
    x->ec = RunOp(ioc_, [&](auto&& handler) { http::async_write(stream, req, handler); });
    if (x->ec) {
      x->step = "write";
      x->stale = reused && IsStaleConnectionError(x->ec);
      return;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBytes);
    x->ec =
        RunOp(ioc_, [&](auto&& handler) { http::async_read(stream, buffer_, parser, handler); });
    if (x->ec) {
      x->step = "read";
      x->stale = reused && !parser.got_some() && IsStaleConnectionError(x->ec);
      return;
    }
    x->response = parser.release();
  }

  const Url& url_;
  const std::string& server_name_;
  asio::io_context ioc_;  // declared first: destroyed after the streams
  std::optional<beast::tcp_stream> tcp_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

class HttpTransport final : public ExportTransport {
 public:
  HttpTransport(const OtlpHttpOptions& o, Url url, std::string url_text,
                std::unique_ptr<ssl::context> tls)
      : server_name_(o.tls.server_name_override.empty() ? url.host : o.tls.server_name_override),
        url_(std::move(url)),
        url_text_(std::move(url_text)),
        tls_(std::move(tls)),
        timeout_(o.helper.timeout),
        compression_(o.compression),
        keep_alive_(!o.disable_keep_alives),
        max_idle_(static_cast<size_t>(
            std::max(1, o.helper.queue.enabled ? o.helper.queue.num_consumers : 10))),
        headers_(o.headers) {}

  Attempt Export(const ExportRequest& request) override {
    http::request<http::string_body> req{http::verb::post, url_.target, 11};
    req.set(http::field::host, url_.host_header);
    req.set(http::field::user_agent, "vivace");
    req.set(http::field::content_type, request.encoding == RequestEncoding::kJson
                                           ? "application/json"
                                           : "application/x-protobuf");
    for (const auto& [k, v] : headers_) req.set(k, v);
    if (!request.tenant.empty() && request.tenant != model::kDefaultTenant)
      req.set("X-Scope-OrgID", request.tenant);
    if (compression_ == Compression::kNone) {
      req.body() = request.body;
    } else {
      Codec codec = compression_ == Compression::kGzip   ? Codec::kGzip
                    : compression_ == Compression::kZstd ? Codec::kZstd
                                                         : Codec::kDeflate;
      Result<std::string> packed = Compress(codec, request.body);
      if (!packed.ok()) return Attempt::Permanent(packed.status());
      req.body() = std::move(*packed);
      req.set(http::field::content_encoding, codec == Codec::kGzip   ? "gzip"
                                             : codec == Codec::kZstd ? "zstd"
                                                                     : "deflate");
    }
    req.keep_alive(keep_alive_);
    req.prepare_payload();

    for (int round = 0;; ++round) {
      // A kept-alive connection may have been closed by the server meanwhile: if it fails
      // before any response byte, the request goes once more on a new connection.
      std::unique_ptr<Connection> conn = Take(/*fresh=*/round > 0);
      Exchange x = conn->RoundTrip(req, timeout_);
      if (x.ec) {
        if (x.stale && round == 0) continue;
        StatusCode code = x.ec == beast::error::timeout ? StatusCode::kDeadlineExceeded
                                                        : StatusCode::kUnavailable;
        return Attempt::Retryable(
            Status(code, "POST " + url_text_ + ": " + x.step + ": " + x.ec.message()));
      }
      const auto& res = x.response;
      int status = static_cast<int>(res.result_int());
      std::string_view content_type(res[http::field::content_type].data(),
                                    res[http::field::content_type].size());
      std::string_view retry_after(res[http::field::retry_after].data(),
                                   res[http::field::retry_after].size());
      Attempt a = HttpAttempt(status, content_type, retry_after, res.body(), NowUnixNanos());
      if (!a.status.ok()) a.status = a.status.WithContext("POST " + url_text_);
      if (keep_alive_ && res.keep_alive()) Put(std::move(conn));
      return a;
    }
  }

  void Shutdown() override {
    MutexLock lock(mu_);
    idle_.clear();
  }

 private:
  std::unique_ptr<Connection> Take(bool fresh) {
    if (!fresh) {
      MutexLock lock(mu_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return std::make_unique<Connection>(url_, tls_.get(), server_name_);
  }

  void Put(std::unique_ptr<Connection> c) {
    MutexLock lock(mu_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(c));
  }

  const std::string server_name_;  // TLS: SNI and the name the certificate must carry
  const Url url_;
  const std::string url_text_;
  const std::unique_ptr<ssl::context> tls_;  // null for http://
  const Millis timeout_;
  const Compression compression_;
  const bool keep_alive_;
  const size_t max_idle_;
  const HeaderList headers_;
  Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ VV_GUARDED_BY(mu_);
};

Result<std::unique_ptr<ssl::context>> MakeTlsContext(const TlsOptions& t) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  beast::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  if (!t.ca_file.empty()) {
    ctx->load_verify_file(t.ca_file, ec);
    if (ec) return InvalidArgument("tls.ca_file " + t.ca_file + ": " + ec.message());
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec)
      return InvalidArgument("cannot load the system's trusted certificates: " + ec.message());
  }
  if (!t.cert_file.empty() || !t.key_file.empty()) {
    if (t.cert_file.empty() || t.key_file.empty()) {
      return InvalidArgument("tls.cert_file and tls.key_file must be given together");
    }
    ctx->use_certificate_chain_file(t.cert_file, ec);
    if (ec) return InvalidArgument("tls.cert_file " + t.cert_file + ": " + ec.message());
    ctx->use_private_key_file(t.key_file, ssl::context::pem, ec);
    if (ec) return InvalidArgument("tls.key_file " + t.key_file + ": " + ec.message());
  }
  return ctx;
}

}  // namespace

Attempt HttpAttempt(int status, std::string_view content_type, std::string_view retry_after,
                    std::string_view body, uint64_t now_unix_nanos) {
  if (status >= 200 && status < 300) {
    Attempt a = Attempt::Ok();
    if (!body.empty()) {
      if (Contains(content_type, "json")) {
        ParsePartialSuccessJson(body, &a);
      } else if (Contains(content_type, "protobuf")) {
        ParsePartialSuccessProto(body, &a);
      }
    }
    return a;
  }
  std::string message = ErrorMessageFromBody(content_type, body);
  Status s(CodeForHttpStatus(status), "responded with HTTP Status Code " + std::to_string(status) +
                                          (message.empty() ? "" : ", Message=" + message));
  bool retryable = status == 429 || status == 502 || status == 503 || status == 504;
  if (!retryable) return Attempt::Permanent(std::move(s));
  Millis throttle(0);
  if ((status == 429 || status == 503) && !retry_after.empty()) {
    throttle = ParseRetryAfter(retry_after, now_unix_nanos).value_or(Millis(0));
  }
  return Attempt::Retryable(std::move(s), throttle);
}

Result<std::string> OtlpHttpTracesUrl(const OtlpHttpOptions& options) {
  std::string url;
  if (!options.traces_endpoint.empty()) {
    url = options.traces_endpoint;
  } else if (!options.endpoint.empty()) {
    url = options.endpoint;
    while (!url.empty() && url.back() == '/') url.pop_back();
    url += "/v1/traces";
  } else {
    return InvalidArgument("either endpoint or traces_endpoint must be specified");
  }
  VV_RETURN_IF_ERROR(ParseUrl(url).status());
  return url;
}

Result<std::unique_ptr<Exporter>> NewOtlpHttpExporter(ComponentContext ctx,
                                                      const OtlpHttpOptions& options,
                                                      std::unique_ptr<RetryClock> clock) {
  Result<std::string> url_text = OtlpHttpTracesUrl(options);
  if (!url_text.ok()) return url_text.status().WithContext("exporter " + ctx.id);
  VV_ASSIGN_OR_RETURN(Url url, ParseUrl(*url_text));
  std::unique_ptr<ssl::context> tls;
  if (url.https) {
    Result<std::unique_ptr<ssl::context>> made = MakeTlsContext(options.tls);
    if (!made.ok()) return made.status().WithContext("exporter " + ctx.id);
    tls = std::move(*made);
    if (options.tls.insecure_skip_verify) {
      tls->set_verify_mode(ssl::verify_none);
    } else {
      tls->set_verify_mode(ssl::verify_peer);
      std::string name =
          options.tls.server_name_override.empty() ? url.host : options.tls.server_name_override;
      tls->set_verify_callback(ssl::host_name_verification(name));
    }
  }
  auto transport = std::make_unique<HttpTransport>(options, std::move(url), std::move(*url_text),
                                                   std::move(tls));
  return std::unique_ptr<Exporter>(std::make_unique<ExporterHelper>(
      std::move(ctx), options.helper, std::move(transport), std::move(clock)));
}

}  // namespace vivace::exporters
