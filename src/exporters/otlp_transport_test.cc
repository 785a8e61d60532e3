// The OTLP exporters' connections: otlphttp keep-alive reuse and a connection the server
// closed while idle, against a small Beast server in the test; TLS for both exporters (server
// certificate verification, insecure_skip_verify, server_name_override, plaintext vs TLS).

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <thread>

#include "base/test_util.h"
#include "exporters/otlp_grpc.h"
#include "exporters/otlp_http.h"
#include "exporters/test_util.h"

namespace vivace::exporters {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct Pem {
  std::string cert;
  std::string key;
};

// A self-signed P-256 certificate for localhost and 127.0.0.1.
Pem MakeSelfSigned() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  auto to_string = [](BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<size_t>(n));
    BIO_free(bio);
    return s;
  };
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, x);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  Pem pem{to_string(cert_bio), to_string(key_bio)};
  X509_free(x);
  EVP_PKEY_free(key);
  return pem;
}

// Serves one connection at a time on loopback, answering 200 to every POST; counts
// connections and requests. With `close_after_response`, closes each connection after its
// first response without saying so (as a server dropping an idle keep-alive connection).
class MiniServer {
 public:
  MiniServer(bool close_after_response, const Pem* tls) : close_after_(close_after_response) {
    if (tls != nullptr) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain(asio::buffer(tls->cert));
      tls_->use_private_key(asio::buffer(tls->key), ssl::context::pem);
    }
    acceptor_.open(tcp::v4());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Loop(); });
  }
  ~MiniServer() {
    stopping_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (current_ != nullptr) {
        beast::error_code ec;
        current_->shutdown(tcp::socket::shutdown_both, ec);
      }
    }
    // Wake the blocking accept.
    tcp::socket poke(ioc_);
    beast::error_code ec;
    poke.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port_), ec);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  int requests() const { return requests_; }
  int handshake_failures() const { return handshake_failures_; }

 private:
  void Loop() {
    while (!stopping_) {
      tcp::socket socket(ioc_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      ++connections_;
      {
        std::lock_guard<std::mutex> lock(mu_);
        current_ = &socket;
      }
      if (tls_) {
        ssl::stream<tcp::socket&> stream(socket, *tls_);
        stream.handshake(ssl::stream_base::server, ec);
        if (ec) {
          ++handshake_failures_;
        } else {
          Serve(stream);
        }
      } else {
        Serve(socket);
      }
      std::lock_guard<std::mutex> lock(mu_);
      current_ = nullptr;
      socket.close(ec);
    }
  }

  template <typename Stream>
  void Serve(Stream& stream) {
    beast::flat_buffer buffer;
    while (true) {
      http::request<http::string_body> req;
      beast::error_code ec;
      http::read(stream, buffer, req, ec);
      if (ec) return;
      ++requests_;
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/x-protobuf");
      res.keep_alive(true);
      res.prepare_payload();
      http::write(stream, res, ec);
      if (ec || close_after_) return;
    }
  }

  const bool close_after_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  std::optional<ssl::context> tls_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0}, requests_{0}, handshake_failures_{0};
  std::mutex mu_;
  tcp::socket* current_ = nullptr;  // guarded by mu_
};

model::ConsumeResult ConsumeSync(Exporter& e, std::unique_ptr<model::SpanBatch> batch) {
  model::ConsumeResult out{Internal("not called")};
  e.Consume(std::move(batch),
            [&](model::ConsumeResult r) { out = std::move(r); });  // queue disabled: synchronous
  return out;
}

OtlpHttpOptions SyncOptions(const std::string& url) {
  OtlpHttpOptions o;
  o.endpoint = url;
  o.helper.queue.enabled = false;
  o.helper.retry.enabled = false;  // so that nothing is hidden by a retry
  o.helper.timeout = Millis(5000);
  return o;
}

ComponentContext Ctx() {
  ComponentContext c;
  c.id = "otlphttp";
  return c;
}

TEST(OtlpHttpConnectionTest, KeepAliveConnectionIsReused) {
  MiniServer server(/*close_after_response=*/false, nullptr);
  auto e =
      NewOtlpHttpExporter(Ctx(), SyncOptions("http://127.0.0.1:" + std::to_string(server.port())));
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE((*e)->Start().ok());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(ConsumeSync(**e, testing::MakeBatch(i, 1)).status.ok());
  EXPECT_EQ(server.requests(), 5);
  EXPECT_EQ(server.connections(), 1);
  (*e)->Shutdown();

  OtlpHttpOptions no_keep_alive = SyncOptions("http://127.0.0.1:" + std::to_string(server.port()));
  no_keep_alive.disable_keep_alives = true;
  auto f = NewOtlpHttpExporter(Ctx(), no_keep_alive);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Start().ok());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ConsumeSync(**f, testing::MakeBatch(i, 1)).status.ok());
  EXPECT_EQ(server.connections(), 4);
  (*f)->Shutdown();
}

TEST(OtlpHttpConnectionTest, ConnectionClosedWhileIdleIsReplacedTransparently) {
  MiniServer server(/*close_after_response=*/true, nullptr);
  auto e =
      NewOtlpHttpExporter(Ctx(), SyncOptions("http://127.0.0.1:" + std::to_string(server.port())));
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE((*e)->Start().ok());
  for (int i = 0; i < 5; ++i) {
    model::ConsumeResult r = ConsumeSync(**e, testing::MakeBatch(i, 1));
    EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  }
  EXPECT_EQ(server.requests(), 5);
  EXPECT_EQ(server.connections(), 5);
  (*e)->Shutdown();
}

class OtlpTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pem_ = MakeSelfSigned();
    ca_file_ = dir_.path() + "/ca.pem";
    std::ofstream(ca_file_) << pem_.cert;
  }
  vivace::testing::TempDir dir_;
  Pem pem_;
  std::string ca_file_;
};

TEST_F(OtlpTlsTest, VerifiesTheServerCertificate) {
  MiniServer server(false, &pem_);
  std::string port = std::to_string(server.port());
  struct Case {
    std::string url;
    std::string ca_file;
    bool skip_verify;
    std::string server_name;
    bool ok;
  };
  const Case cases[] = {
      {"https://127.0.0.1:" + port, ca_file_, false, "", true},           // IP SAN
      {"https://127.0.0.1:" + port, ca_file_, false, "localhost", true},  // DNS SAN
      {"https://127.0.0.1:" + port, ca_file_, false, "other.example", false},
      {"https://127.0.0.1:" + port, "", false, "", false},  // not a trusted root
      {"https://127.0.0.1:" + port, "", true, "", true},    // insecure_skip_verify
      {"http://127.0.0.1:" + port, "", false, "", false},   // plain HTTP to a TLS port
  };
  for (const Case& c : cases) {
    OtlpHttpOptions o = SyncOptions(c.url);
    o.tls.ca_file = c.ca_file;
    o.tls.insecure_skip_verify = c.skip_verify;
    o.tls.server_name_override = c.server_name;
    o.helper.timeout = Millis(2000);
    auto e = NewOtlpHttpExporter(Ctx(), o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    ASSERT_TRUE((*e)->Start().ok());
    model::ConsumeResult r = ConsumeSync(**e, testing::MakeBatch(0, 1));
    EXPECT_EQ(r.status.ok(), c.ok) << c.url << " ca=" << c.ca_file << " skip=" << c.skip_verify
                                   << " name=" << c.server_name << ": " << r.status.ToString();
    if (!c.ok) {
      EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);  // connection errors are retryable
    }
    (*e)->Shutdown();
  }
  EXPECT_EQ(server.requests(), 3);
}

TEST_F(OtlpTlsTest, BadCaFileFailsAtConstruction) {
  OtlpHttpOptions o = SyncOptions("https://127.0.0.1:1");
  o.tls.ca_file = dir_.path() + "/missing.pem";
  EXPECT_FALSE(NewOtlpHttpExporter(Ctx(), o).ok());
  o.tls.ca_file = ca_file_;
  o.tls.cert_file = ca_file_;  // without key_file
  EXPECT_FALSE(NewOtlpHttpExporter(Ctx(), o).ok());
}

// A gRPC server over TLS whose every method answers OK with an empty message; counts calls.
class TlsGrpcServer {
 public:
  explicit TlsGrpcServer(const Pem& pem) {
    grpc::SslServerCredentialsOptions opts;
    opts.pem_key_cert_pairs.push_back({pem.key, pem.cert});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(opts), &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~TlsGrpcServer() { server_->Shutdown(std::chrono::system_clock::now()); }
  int port() const { return port_; }
  int calls() const { return service_.calls; }

 private:
  struct Service : grpc::CallbackGenericService {
    std::atomic<int> calls{0};
    grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
      struct Reactor : grpc::ServerGenericBidiReactor {
        explicit Reactor(std::atomic<int>* calls) : calls_(calls) { StartRead(&request_); }
        void OnReadDone(bool ok) override {
          if (!ok) {
            Finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request"));
            return;
          }
          ++*calls_;
          grpc::Slice empty("", 0);
          response_ = grpc::ByteBuffer(&empty, 1);
          StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
        }
        void OnDone() override { delete this; }
        std::atomic<int>* calls_;
        grpc::ByteBuffer request_, response_;
      };
      return new Reactor(&calls);
    }
  };
  Service service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(OtlpTlsTest, GrpcVerifiesTheServerCertificate) {
  TlsGrpcServer server(pem_);
  ASSERT_GT(server.port(), 0);
  std::string endpoint = "127.0.0.1:" + std::to_string(server.port());
  struct Case {
    std::string endpoint;
    bool insecure;
    std::string ca_file;
    bool skip_verify;
    std::string server_name;
    bool ok;
  };
  const Case cases[] = {
      {endpoint, false, ca_file_, false, "", true},
      {"https://" + endpoint, false, ca_file_, false, "", true},
      {endpoint, false, ca_file_, false, "localhost", true},
      {endpoint, false, "", false, "", false},  // not a trusted root
      {endpoint, false, "", true, "", true},    // insecure_skip_verify
      {endpoint, true, "", false, "", false},   // plaintext to a TLS server
  };
  int expected_calls = 0;
  for (const Case& c : cases) {
    OtlpGrpcOptions o;
    o.endpoint = c.endpoint;
    o.tls.insecure = c.insecure;
    o.tls.ca_file = c.ca_file;
    o.tls.insecure_skip_verify = c.skip_verify;
    o.tls.server_name_override = c.server_name;
    o.helper.queue.enabled = false;
    o.helper.retry.enabled = false;
    o.helper.timeout = Millis(3000);
    ComponentContext ctx;
    ctx.id = "otlp";
    auto e = NewOtlpGrpcExporter(ctx, o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    ASSERT_TRUE((*e)->Start().ok());
    model::ConsumeResult r = ConsumeSync(**e, testing::MakeBatch(0, 1));
    EXPECT_EQ(r.status.ok(), c.ok)
        << c.endpoint << " insecure=" << c.insecure << " ca=" << c.ca_file
        << " skip=" << c.skip_verify << " name=" << c.server_name << ": " << r.status.ToString();
    if (!c.ok) {
      EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
    }
    expected_calls += c.ok ? 1 : 0;
    (*e)->Shutdown();
  }
  EXPECT_EQ(server.calls(), expected_calls);
}

}  // namespace
}  // namespace vivace::exporters
