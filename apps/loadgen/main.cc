// vivace-loadgen: sends realistic synthetic traces over OTLP/gRPC or OTLP/HTTP at a target rate
// or flat out, and reports spans/s and errors.
#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "api/http_server.h"
#include "base/compression.h"
#include "base/mutex.h"
#include "generator.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string protocol = "grpc";
  std::string endpoint = "127.0.0.1:4317";
  std::string tenant;
  double rate = 0;          // spans per second; 0 = flat out
  uint64_t total_spans = 100000;
  double duration_s = 0;    // stop after this long (0 = until total_spans)
  int batch_spans = 1000;
  int concurrency = 4;
  uint64_t seed = 1;
  bool pregenerate = false;
  std::string compression;  // http: gzip|zstd
};

struct Stats {
  std::atomic<uint64_t> spans{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> bytes{0};
  vivace::Mutex mu;
  std::string last_error;
};

// Hands out pre-generated or freshly generated requests to workers.
class RequestSource {
 public:
  explicit RequestSource(const Options& o) : o_(o), gen_({.seed = o.seed}) {
    if (o.pregenerate) {
      uint64_t spans = 0;
      while (spans < o.total_spans) {
        size_t n;
        pool_.push_back({gen_.Request(static_cast<size_t>(o.batch_spans), &n), n});
        spans += n;
      }
    }
  }
  // Returns false when the budget is used up.
  bool Next(std::string* body, size_t* spans) {
    vivace::MutexLock lock(mu_);
    if (issued_spans_ >= o_.total_spans) return false;
    if (o_.pregenerate) {
      if (next_ >= pool_.size()) return false;
      *body = std::move(pool_[next_].first);
      *spans = pool_[next_].second;
      ++next_;
    } else {
      *body = gen_.Request(static_cast<size_t>(o_.batch_spans), spans);
    }
    issued_spans_ += *spans;
    return true;
  }

 private:
  const Options& o_;
  vivace::Mutex mu_;
  vivace::loadgen::Generator gen_;
  std::vector<std::pair<std::string, size_t>> pool_;
  size_t next_ = 0;
  uint64_t issued_spans_ = 0;
};

void RecordError(Stats* stats, std::string msg) {
  stats->errors.fetch_add(1);
  vivace::MutexLock lock(stats->mu);
  stats->last_error = std::move(msg);
}

void GrpcWorker(const Options& o, RequestSource* src, Stats* stats, const std::function<void(size_t)>& pace) {
  auto channel = grpc::CreateChannel(o.endpoint, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  std::string body;
  size_t spans;
  while (src->Next(&body, &spans)) {
    pace(spans);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (!o.tenant.empty()) ctx.AddMetadata("x-scope-orgid", o.tenant);
    grpc::Slice slice(body);
    grpc::ByteBuffer req(&slice, 1), resp;
    auto call = stub.PrepareUnaryCall(&ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", req, &cq);
    call->StartCall();
    grpc::Status status;
    call->Finish(&resp, &status, reinterpret_cast<void*>(1));
    void* tag;
    bool ok;
    cq.Next(&tag, &ok);
    stats->requests.fetch_add(1);
    if (status.ok()) {
      stats->spans.fetch_add(spans);
      stats->bytes.fetch_add(body.size());
    } else {
      RecordError(stats, "grpc " + std::to_string(status.error_code()) + ": " + status.error_message());
    }
  }
}

void HttpWorker(const Options& o, RequestSource* src, Stats* stats, const std::function<void(size_t)>& pace) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  using tcp = boost::asio::ip::tcp;
  auto hp = vivace::api::SplitHostPort(o.endpoint);
  if (!hp.ok()) {
    RecordError(stats, hp.status().ToString());
    return;
  }
  boost::asio::io_context ioc;
  tcp::resolver resolver(ioc);
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  std::string body;
  size_t spans;
  auto codec = vivace::CodecFromName(o.compression);
  while (src->Next(&body, &spans)) {
    pace(spans);
    beast::error_code ec;
    if (!stream) {
      stream = std::make_unique<beast::tcp_stream>(ioc);
      auto results = resolver.resolve(hp->first.empty() ? "127.0.0.1" : hp->first, std::to_string(hp->second), ec);
      if (!ec) stream->connect(results, ec);
      if (ec) {
        RecordError(stats, "connect: " + ec.message());
        stream.reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
    }
    http::request<http::string_body> req{http::verb::post, "/v1/traces", 11};
    req.set(http::field::host, o.endpoint);
    req.set(http::field::content_type, "application/x-protobuf");
    if (!o.tenant.empty()) req.set("X-Scope-OrgID", o.tenant);
    size_t wire = body.size();
    if (codec.ok() && *codec != vivace::Codec::kNone) {
      auto c = vivace::Compress(*codec, body);
      req.set(http::field::content_encoding, o.compression);
      body = std::move(c).value();
      wire = body.size();
    }
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(*stream, req, ec);
    http::response<http::string_body> res;
    if (!ec) http::read(*stream, buffer, res, ec);
    stats->requests.fetch_add(1);
    if (ec) {
      RecordError(stats, "http: " + ec.message());
      stream.reset();
      continue;
    }
    if (res.result_int() == 200) {
      stats->spans.fetch_add(spans);
      stats->bytes.fetch_add(wire);
    } else {
      RecordError(stats, "http " + std::to_string(res.result_int()) + ": " + res.body());
    }
    if (!res.keep_alive()) stream.reset();
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App cli{"vivace-loadgen: realistic OTLP trace load", "vivace-loadgen"};
  cli.add_option("--protocol", o.protocol, "grpc or http")->check(CLI::IsMember({"grpc", "http"}));
  cli.add_option("--endpoint", o.endpoint, "host:port of the OTLP receiver");
  cli.add_option("--tenant", o.tenant, "X-Scope-OrgID");
  cli.add_option("--rate", o.rate, "spans per second (0 = flat out)");
  cli.add_option("--spans", o.total_spans, "total spans to send");
  cli.add_option("--duration", o.duration_s, "stop after this many seconds (0 = when --spans are sent)");
  cli.add_option("--batch", o.batch_spans, "spans per request (whole traces, so slightly more)");
  cli.add_option("--concurrency", o.concurrency, "concurrent connections");
  cli.add_option("--seed", o.seed, "random seed");
  cli.add_flag("--pregenerate", o.pregenerate, "generate every request before sending (keeps generation out of the timing)");
  cli.add_option("--compression", o.compression, "http only: gzip or zstd");
  CLI11_PARSE(cli, argc, argv);

  RequestSource src(o);
  Stats stats;
  auto start = Clock::now();
  std::atomic<uint64_t> paced_spans{0};
  std::atomic<bool> stop{false};
  auto pace = [&](size_t spans) {
    uint64_t before = paced_spans.fetch_add(spans);
    if (o.rate > 0) {
      auto due = start + std::chrono::duration<double>(static_cast<double>(before) / o.rate);
      std::this_thread::sleep_until(due);
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < std::max(1, o.concurrency); ++i) {
    workers.emplace_back([&] {
      if (o.protocol == "grpc") {
        GrpcWorker(o, &src, &stats, pace);
      } else {
        HttpWorker(o, &src, &stats, pace);
      }
    });
  }
  std::thread timer;
  if (o.duration_s > 0) {
    timer = std::thread([&] {
      auto deadline = start + std::chrono::duration<double>(o.duration_s);
      while (!stop.load() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (!stop.load()) std::quick_exit(0);
    });
  }
  for (auto& w : workers) w.join();
  stop = true;
  if (timer.joinable()) timer.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("protocol=%s spans=%llu requests=%llu errors=%llu seconds=%.3f spans_per_second=%.0f wire_bytes_per_span=%.1f\n",
              o.protocol.c_str(), static_cast<unsigned long long>(stats.spans.load()),
              static_cast<unsigned long long>(stats.requests.load()), static_cast<unsigned long long>(stats.errors.load()),
              secs, static_cast<double>(stats.spans.load()) / secs,
              stats.spans.load() ? static_cast<double>(stats.bytes.load()) / static_cast<double>(stats.spans.load()) : 0.0);
  if (stats.errors.load() > 0) std::printf("last_error=%s\n", stats.last_error.c_str());
  return stats.errors.load() > 0 ? 1 : 0;
}
