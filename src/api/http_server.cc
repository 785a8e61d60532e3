#include "api/http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "base/logging.h"

namespace vivace::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Router* router, const HttpServerOptions& opts)
      : stream_(std::move(socket)), router_(router), opts_(opts) {}

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    // Beast reads at most the buffer's free capacity per recvmsg (512 bytes when it is empty):
    // keep 64 KiB free so a 300 KiB OTLP body takes a handful of reads, not hundreds.
    if (buffer_.capacity() - buffer_.size() < kReadChunk) buffer_.reserve(buffer_.size() + kReadChunk);
    parser_.emplace();
    parser_->body_limit(opts_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(std::chrono::seconds(opts_.idle_timeout_seconds));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      drain_ = true;
      return Write(HttpResponse::Text(413, "request body larger than " + std::to_string(opts_.max_body_bytes) +
                                               " bytes\n"),
                   11);
    }
    if (ec) {
      keep_alive_ = false;
      drain_ = true;
      return Write(HttpResponse::Text(400, std::string("bad request: ") + ec.message() + "\n"), 11);
    }
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    int version = msg.version();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    std::string_view target = req.target;
    size_t q = target.find('?');
    auto path = PercentDecode(target.substr(0, q));
    req.path = path ? *path : std::string(target.substr(0, q));
    if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
    for (const auto& h : msg) req.headers.emplace_back(std::string(h.name_string()), std::string(h.value()));
    req.body = std::move(msg.body());
    beast::error_code rec;
    auto ep = stream_.socket().remote_endpoint(rec);
    if (!rec) req.remote = ep.address().to_string();
    stream_.expires_never();
    router_->Dispatch(std::move(req), [self = shared_from_this(), version](HttpResponse resp) {
      asio::dispatch(self->stream_.get_executor(),
                     [self, version, resp = std::move(resp)]() mutable { self->Write(std::move(resp), version); });
    });
  }

  void Write(HttpResponse resp, int version) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(resp.status), version);
    res->set(http::field::server, "vivace");
    res->set(http::field::content_type, resp.content_type);
    for (auto& [k, v] : resp.headers) res->set(k, v);
    res->keep_alive(keep_alive_);
    res->body() = std::move(resp.body);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(opts_.idle_timeout_seconds));
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      if (!ec && self->drain_) return self->Drain();
      if (ec || !self->keep_alive_) return self->Close();
      self->Read();
    });
  }

  // After an error answer with request bytes still unread: closing at once would make the
  // kernel send a reset that destroys the answer in the client's receive buffer. So stop
  // sending, read and discard (bounded in bytes and time) until the client closes, then close.
  void Drain() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(kDrainSeconds));
    DrainSome();
  }
  void DrainSome() {
    stream_.async_read_some(asio::buffer(drain_buf_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kDrainMaxBytes) return self->Close();
      self->DrainSome();
    });
  }
  static constexpr size_t kReadChunk = 64 * 1024;
  static constexpr int kDrainSeconds = 2;
  static constexpr size_t kDrainMaxBytes = 256u << 20;

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const Router* router_;
  const HttpServerOptions& opts_;
  bool keep_alive_ = true;
  bool drain_ = false;
  size_t drained_ = 0;
  std::array<char, 16384> drain_buf_;
};

class BeastServer : public HttpServer {
 public:
  BeastServer(HttpServerOptions opts, const Router* router)
      : opts_(std::move(opts)), router_(router), ioc_(opts_.threads), acceptor_(asio::make_strand(ioc_)) {}
  ~BeastServer() override { Stop(); }

  Status Listen() {
    VV_ASSIGN_OR_RETURN(auto hp, SplitHostPort(opts_.listen));
    beast::error_code ec;
    auto addr = asio::ip::make_address(hp.first.empty() ? "0.0.0.0" : hp.first, ec);
    if (ec) return InvalidArgument("invalid listen address \"" + opts_.listen + "\": " + ec.message());
    tcp::endpoint ep(addr, hp.second);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Unavailable("cannot listen on " + opts_.listen + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    Accept();
    for (int i = 0; i < std::max(1, opts_.threads); ++i) threads_.emplace_back([this] { ioc_.run(); });
    return Status::OK();
  }

  uint16_t port() const override { return port_; }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    asio::dispatch(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        beast::error_code nec;
        socket.set_option(tcp::no_delay(true), nec);
        std::make_shared<Session>(std::move(socket), router_, opts_)->Start();
      }
      Accept();
    });
  }

  HttpServerOptions opts_;
  const Router* router_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) return InvalidArgument("listen address \"" + std::string(listen) + "\" has no port");
  std::string host(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string_view port_str = listen.substr(colon + 1);
  if (port_str.empty() || port_str.size() > 5) return InvalidArgument("invalid port in \"" + std::string(listen) + "\"");
  uint32_t port = 0;
  for (char c : port_str) {
    if (c < '0' || c > '9') return InvalidArgument("invalid port in \"" + std::string(listen) + "\"");
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port > 65535) return InvalidArgument("port out of range in \"" + std::string(listen) + "\"");
  if (host == "localhost") host = "127.0.0.1";
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options, const Router* router) {
  auto server = std::make_unique<BeastServer>(std::move(options), router);
  VV_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace vivace::api
