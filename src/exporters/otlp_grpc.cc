#include "exporters/otlp_grpc.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "base/protowire.h"
#include "model/tenant.h"

namespace vivace::exporters {
namespace {

constexpr const char* kExportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

Result<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(const OtlpGrpcOptions& o,
                                                                  bool tls) {
  if (!tls) return grpc::InsecureChannelCredentials();
  std::string roots, key, cert;
  if (!o.tls.ca_file.empty()) {
    VV_ASSIGN_OR_RETURN(roots, ReadSmallFile(o.tls.ca_file));
  }
  if (!o.tls.cert_file.empty()) {
    VV_ASSIGN_OR_RETURN(cert, ReadSmallFile(o.tls.cert_file));
  }
  if (!o.tls.key_file.empty()) {
    VV_ASSIGN_OR_RETURN(key, ReadSmallFile(o.tls.key_file));
  }
  if (o.tls.insecure_skip_verify) {
    // TLS without checking the server's certificate: the experimental TLS credentials are the
    // only grpc++ API that can turn verification off.
    std::vector<grpc::experimental::IdentityKeyCertPair> pairs;
    if (!cert.empty()) pairs.push_back({key, cert});
    grpc::experimental::TlsChannelCredentialsOptions opts;
    if (!pairs.empty()) {
      opts.set_certificate_provider(
          std::make_shared<grpc::experimental::StaticDataCertificateProvider>(pairs));
      opts.watch_identity_key_cert_pairs();
    }
    opts.set_verify_server_certs(false);
    opts.set_check_call_host(false);
    opts.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    auto creds = grpc::experimental::TlsCredentials(opts);
    if (creds == nullptr) return InvalidArgument("cannot build TLS credentials for " + o.endpoint);
    return creds;
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = roots;
  ssl.pem_private_key = key;
  ssl.pem_cert_chain = cert;
  return grpc::SslCredentials(ssl);
}

class GrpcTransport final : public ExportTransport {
 public:
  GrpcTransport(const OtlpGrpcOptions& o, std::shared_ptr<grpc::Channel> channel)
      : timeout_(o.helper.timeout),
        gzip_(o.compression == Compression::kGzip),
        wait_for_ready_(o.wait_for_ready),
        channel_(std::move(channel)),
        stub_(std::make_unique<grpc::GenericStub>(channel_)) {
    for (const auto& [k, v] : o.headers) {
      std::string key = k;
      std::transform(key.begin(), key.end(), key.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      headers_.emplace_back(std::move(key), v);
    }
  }

  Attempt Export(const ExportRequest& request) override {
    grpc::ClientContext ctx;
    if (timeout_.count() > 0) ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
    const bool has_tenant = !request.tenant.empty() && request.tenant != model::kDefaultTenant;
    for (const auto& [k, v] : headers_) {
      if (!(has_tenant && k == "x-scope-orgid")) ctx.AddMetadata(k, v);  // the batch's tenant wins
    }
    if (has_tenant) ctx.AddMetadata("x-scope-orgid", request.tenant);
    if (gzip_) ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    if (wait_for_ready_) ctx.set_wait_for_ready(true);
    // The body outlives the call (we wait for it below): lend it to gRPC without a copy.
    grpc::Slice slice(request.body.data(), request.body.size(), grpc::Slice::STATIC_SLICE);
    grpc::ByteBuffer req(&slice, 1);
    grpc::ByteBuffer resp;
    std::mutex mu;
    std::condition_variable cv;
    bool finished = false;
    grpc::Status status;
    stub_->UnaryCall(&ctx, kExportMethod, grpc::StubOptions(), &req, &resp, [&](grpc::Status s) {
      std::lock_guard<std::mutex> lock(mu);
      status = std::move(s);
      finished = true;
      cv.notify_one();
    });
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return finished; });
    }
    std::string response;
    if (status.ok()) {
      std::vector<grpc::Slice> slices;
      if (resp.Dump(&slices).ok()) {
        for (const auto& s : slices)
          response.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
    return GrpcAttempt(status.error_code(), status.error_message(), status.error_details(),
                       response);
  }

 private:
  const Millis timeout_;
  const bool gzip_;
  const bool wait_for_ready_;
  HeaderList headers_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

}  // namespace

void ParsePartialSuccessProto(std::string_view response, Attempt* attempt) {
  // ExportTraceServiceResponse{partial_success = 1 {rejected_spans = 1, error_message = 2}}
  protowire::Reader r(response);
  protowire::Field f;
  while (r.Next(&f)) {
    if (f.number != 1 || f.type != protowire::WireType::kLen) continue;
    protowire::Reader p(f.bytes);
    protowire::Field g;
    while (p.Next(&g)) {
      if (g.number == 1 && g.type == protowire::WireType::kVarint) {
        attempt->rejected_spans = static_cast<int64_t>(g.varint) > 0 ? g.varint : 0;
      } else if (g.number == 2 && g.type == protowire::WireType::kLen) {
        attempt->rejected_message.assign(g.bytes);
      }
    }
  }
}

Attempt GrpcAttempt(int code, std::string_view message, std::string_view details,
                    std::string_view response) {
  if (code == 0) {
    Attempt a = Attempt::Ok();
    ParsePartialSuccessProto(response, &a);
    return a;
  }
  auto sc = static_cast<StatusCode>(code);
  Status status(sc, std::string(message));
  std::optional<Millis> retry_delay = RetryDelayFromRpcStatus(details);
  bool retryable = false;
  switch (sc) {
    case StatusCode::kCancelled:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kAborted:
    case StatusCode::kOutOfRange:
    case StatusCode::kUnavailable:
    case StatusCode::kDataLoss:
      retryable = true;
      break;
    case StatusCode::kResourceExhausted:
      retryable = retry_delay.has_value();  // throttling, not "too big"
      break;
    default:
      break;
  }
  if (!retryable) return Attempt::Permanent(std::move(status));
  return Attempt::Retryable(std::move(status), retry_delay.value_or(Millis(0)));
}

Result<std::unique_ptr<Exporter>> NewOtlpGrpcExporter(ComponentContext ctx,
                                                      const OtlpGrpcOptions& options,
                                                      std::unique_ptr<RetryClock> clock) {
  if (options.endpoint.empty())
    return InvalidArgument("exporter " + ctx.id + ": endpoint is required");
  std::string target = options.endpoint;
  bool tls = !options.tls.insecure;
  if (StartsWith(target, "https://")) {
    target = target.substr(8);
    tls = true;
  } else if (StartsWith(target, "http://")) {
    // configgrpc: an http:// endpoint means a plaintext connection, whatever tls says.
    target = target.substr(7);
    tls = false;
  }
  while (!target.empty() && target.back() == '/') target.pop_back();
  VV_ASSIGN_OR_RETURN(auto creds, MakeCredentials(options, tls));
  grpc::ChannelArguments args;
  args.SetString(GRPC_ARG_PRIMARY_USER_AGENT_STRING, "vivace");
  args.SetMaxReceiveMessageSize(64 << 20);
  if (!options.authority.empty()) args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, options.authority);
  if (tls && !options.tls.server_name_override.empty()) {
    args.SetSslTargetNameOverride(options.tls.server_name_override);
  }
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(target, creds, args);
  if (channel == nullptr)
    return InvalidArgument("exporter " + ctx.id + ": cannot create a channel to " + target);
  auto transport = std::make_unique<GrpcTransport>(options, std::move(channel));
  return std::unique_ptr<Exporter>(std::make_unique<ExporterHelper>(
      std::move(ctx), options.helper, std::move(transport), std::move(clock)));
}

}  // namespace vivace::exporters
