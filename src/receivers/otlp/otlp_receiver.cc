#include "receivers/otlp/otlp_receiver.h"

#include <fmt/format.h>

#include "base/compression.h"
#include "base/protowire.h"
#include "base/strings.h"
#include "model/tenant.h"
#include "otlp/json_decode.h"
#include "otlp/proto_decode.h"

namespace vivace::receivers {
namespace {

constexpr std::string_view kProtoType = "application/x-protobuf";
constexpr std::string_view kJsonType = "application/json";

// Media type without parameters ("application/json; charset=utf-8" → "application/json").
std::string_view MediaType(std::string_view content_type) {
  size_t semi = content_type.find(';');
  return Trim(content_type.substr(0, semi));
}

// gRPC canonical code → HTTP status, as the Collector's OTLP receiver maps them.
int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kCancelled:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kAborted:
    case StatusCode::kOutOfRange:
    case StatusCode::kUnavailable:
    case StatusCode::kDataLoss: return 503;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kUnimplemented: return 404;
    default: return 500;
  }
}

bool Retryable(StatusCode code) {
  return code == StatusCode::kUnavailable || code == StatusCode::kResourceExhausted;
}

// ExportTraceServiceResponse{partial_success{rejected_spans=1, error_message=2}}.
std::string EncodeExportResponseProto(uint64_t rejected, std::string_view message) {
  std::string out;
  if (rejected == 0 && message.empty()) return out;
  protowire::Writer w(&out);
  size_t t = w.BeginMessage(1);
  w.VarintIfSet(1, rejected);
  w.BytesIfSet(2, message);
  w.EndMessage(t);
  return out;
}

std::string EncodeExportResponseJson(uint64_t rejected, std::string_view message) {
  if (rejected == 0 && message.empty()) return "{}";
  std::string out = fmt::format("{{\"partialSuccess\":{{\"rejectedSpans\":\"{}\",\"errorMessage\":\"", rejected);
  AppendJsonEscaped(&out, message);
  out += "\"}}";
  return out;
}

// The error body: a google.rpc.Status, in the request's encoding (OTLP/HTTP spec).
OtlpHttpResponse HttpError(StatusCode code, std::string_view message, bool json, uint32_t retry_after) {
  OtlpHttpResponse r;
  r.status = HttpStatusFor(code);
  r.retry_after_seconds = retry_after;
  if (json) {
    r.content_type = std::string(kJsonType);
    r.body = fmt::format("{{\"code\":{},\"message\":\"", static_cast<int>(code));
    AppendJsonEscaped(&r.body, message);
    r.body += "\"}";
  } else {
    r.content_type = std::string(kProtoType);
    r.body = EncodeRpcStatus(static_cast<int>(code), message, 0);
  }
  return r;
}

constexpr uint32_t kDefaultRetryAfterSeconds = 1;

}  // namespace

std::string EncodeRpcStatus(int code, std::string_view message, uint32_t retry_after_seconds) {
  std::string out;
  protowire::Writer w(&out);
  w.VarintIfSet(1, static_cast<uint64_t>(code));
  w.BytesIfSet(2, message);
  if (retry_after_seconds > 0) {
    // details: Any{type_url, value=RetryInfo{retry_delay=Duration{seconds}}}
    size_t any = w.BeginMessage(3);
    w.Bytes(1, "type.googleapis.com/google.rpc.RetryInfo");
    size_t value = w.BeginMessage(2);
    size_t delay = w.BeginMessage(1);
    w.Varint(1, retry_after_seconds);
    w.EndMessage(delay);
    w.EndMessage(value);
    w.EndMessage(any);
  }
  return out;
}

OtlpReceiver::OtlpReceiver(model::SpanSink* sink, OtlpReceiverOptions options, MetricsRegistry* metrics)
    : sink_(sink), options_(std::move(options)) {
  auto make = [&](std::string_view transport) {
    Labels labels = {{"receiver", options_.id}, {"transport", std::string(transport)}};
    return Counters{
        metrics->GetCounter("otelcol_receiver_accepted_spans_total",
                            "Number of spans successfully pushed into the pipeline.", labels),
        metrics->GetCounter("otelcol_receiver_refused_spans_total",
                            "Number of spans that could not be pushed into the pipeline.", labels),
        metrics->GetCounter("otelcol_receiver_failed_spans_total",
                            "The number of spans that failed to be processed by the receiver due to internal errors.",
                            labels),
    };
  };
  grpc_ = make("grpc");
  http_ = make("http");
}

Result<std::unique_ptr<model::SpanBatch>> OtlpReceiver::Decode(std::string body, Format format,
                                                               std::string_view tenant, uint64_t* rejected,
                                                               std::string* rejected_message) {
  auto batch = std::make_unique<model::SpanBatch>();
  batch->tenant = tenant.empty() ? std::string(model::kDefaultTenant) : std::string(tenant);
  if (format == Format::kProto) {
    std::string_view wire = batch->arena.Adopt(std::move(body));
    VV_RETURN_IF_ERROR(otlp::DecodeProtoRequest(wire, options_.decode, batch.get()));
    batch->otlp_proto = wire;
    batch->decoded_from_otlp_proto = true;
  } else {
    VV_RETURN_IF_ERROR(otlp::DecodeJsonRequest(body, options_.decode, batch.get()));
  }
  // Spans without a trace id or span id cannot be stored or found: reject them individually.
  size_t invalid = 0;
  for (size_t i = 0; i < batch->size(); ++i) {
    invalid += batch->trace_id[i].IsZero() || batch->span_id[i].IsZero();
  }
  if (invalid > 0) {
    auto valid = std::make_unique<model::SpanBatch>();
    valid->tenant = batch->tenant;
    model::SpanCopier copier(valid.get());
    copier.SetSource(batch.get());
    for (size_t i = 0; i < batch->size(); ++i) {
      if (!batch->trace_id[i].IsZero() && !batch->span_id[i].IsZero()) copier.CopySpan(i);
    }
    *rejected = invalid;
    *rejected_message = fmt::format("{} span(s) rejected: trace_id and span_id must be non-zero", invalid);
    batch = std::move(valid);
  }
  return batch;
}

void OtlpReceiver::Consume(std::unique_ptr<model::SpanBatch> batch, uint64_t rejected,
                           std::string rejected_message, const Counters& counters,
                           std::function<void(model::ConsumeResult)> done) {
  uint64_t n = batch->size();
  if (rejected > 0) counters.refused->Add(rejected);
  if (n == 0) {
    model::ConsumeResult r;
    r.rejected_spans = rejected;
    r.rejected_message = std::move(rejected_message);
    done(std::move(r));
    return;
  }
  sink_->Consume(std::move(batch), [n, rejected, msg = std::move(rejected_message), counters,
                                    done = std::move(done)](model::ConsumeResult r) mutable {
    if (r.status.ok()) {
      counters.accepted->Add(n - r.rejected_spans);
      counters.refused->Add(r.rejected_spans);
      r.rejected_spans += rejected;
      if (!msg.empty()) r.rejected_message = r.rejected_message.empty() ? msg : msg + "; " + r.rejected_message;
    } else {
      counters.refused->Add(n);
    }
    done(std::move(r));
  });
}

void OtlpReceiver::HandleHttp(OtlpHttpRequest req, std::function<void(OtlpHttpResponse)> done) {
  if (req.method != "POST") {
    OtlpHttpResponse r;
    r.status = 405;
    r.content_type = "text/plain";
    r.body = fmt::format("{} method not allowed, supported: [POST]", req.method);
    r.allow = "POST";
    done(std::move(r));
    return;
  }
  std::string_view media = MediaType(req.content_type);
  Format format;
  if (EqualsIgnoreCase(media, kProtoType)) {
    format = Format::kProto;
  } else if (EqualsIgnoreCase(media, kJsonType)) {
    format = Format::kJson;
  } else {
    OtlpHttpResponse r;
    r.status = 415;
    r.content_type = "text/plain";
    r.body = fmt::format("{} is not supported, supported: [{}, {}]", req.content_type, kJsonType, kProtoType);
    done(std::move(r));
    return;
  }
  bool json = format == Format::kJson;
  if (!req.tenant.empty()) {
    Status st = model::ValidateTenant(req.tenant);
    if (!st.ok()) {
      done(HttpError(StatusCode::kInvalidArgument, st.message(), json, 0));
      return;
    }
  }
  auto codec = CodecFromName(req.content_encoding);
  if (!codec.ok()) {
    done(HttpError(StatusCode::kInvalidArgument, codec.status().message(), json, 0));
    return;
  }
  Result<std::string> body = std::string();
  if (*codec == Codec::kNone) {
    if (req.body.size() > options_.max_request_bytes) {
      body = ResourceExhausted("body exceeds the limit of " + std::to_string(options_.max_request_bytes) + " bytes");
    } else {
      body = std::move(req.body);  // no copy for the common, uncompressed case
    }
  } else {
    body = Decompress(*codec, req.body, options_.max_request_bytes);
  }
  if (!body.ok()) {
    if (body.status().code() == StatusCode::kResourceExhausted) {
      OtlpHttpResponse r = HttpError(StatusCode::kResourceExhausted, body.status().message(), json, 0);
      r.status = 413;  // Request Entity Too Large: permanent, unlike 429
      done(std::move(r));
    } else {
      done(HttpError(StatusCode::kInvalidArgument, body.status().message(), json, 0));
    }
    return;
  }
  uint64_t rejected = 0;
  std::string rejected_message;
  auto batch = Decode(std::move(body).value(), format, req.tenant, &rejected, &rejected_message);
  if (!batch.ok()) {
    done(HttpError(StatusCode::kInvalidArgument, batch.status().message(), json, 0));
    return;
  }
  Consume(std::move(batch).value(), rejected, std::move(rejected_message), http_,
          [json, done = std::move(done)](model::ConsumeResult r) {
            if (!r.status.ok()) {
              uint32_t retry = 0;
              if (Retryable(r.status.code())) {
                retry = r.retry_after_seconds > 0 ? r.retry_after_seconds : kDefaultRetryAfterSeconds;
              }
              done(HttpError(r.status.code(), r.status.message(), json, retry));
              return;
            }
            OtlpHttpResponse resp;
            resp.content_type = std::string(json ? kJsonType : kProtoType);
            resp.body = json ? EncodeExportResponseJson(r.rejected_spans, r.rejected_message)
                             : EncodeExportResponseProto(r.rejected_spans, r.rejected_message);
            done(std::move(resp));
          });
}

void OtlpReceiver::HandleGrpc(std::string message, std::string_view tenant,
                              std::function<void(OtlpGrpcResponse)> done) {
  auto fail = [&](StatusCode code, std::string_view msg, uint32_t retry) {
    OtlpGrpcResponse r;
    r.code = static_cast<int>(code);
    r.error_message = std::string(msg);
    r.status_details = EncodeRpcStatus(r.code, msg, retry);
    done(std::move(r));
  };
  if (!tenant.empty()) {
    Status st = model::ValidateTenant(tenant);
    if (!st.ok()) return fail(StatusCode::kInvalidArgument, st.message(), 0);
  }
  if (message.size() > options_.max_request_bytes) {
    return fail(StatusCode::kResourceExhausted,
                fmt::format("request of {} bytes exceeds the limit of {} bytes", message.size(),
                            options_.max_request_bytes),
                0);
  }
  uint64_t rejected = 0;
  std::string rejected_message;
  auto batch = Decode(std::move(message), Format::kProto, tenant, &rejected, &rejected_message);
  if (!batch.ok()) return fail(StatusCode::kInvalidArgument, batch.status().message(), 0);
  Consume(std::move(batch).value(), rejected, std::move(rejected_message), grpc_,
          [done = std::move(done)](model::ConsumeResult r) {
            OtlpGrpcResponse resp;
            if (!r.status.ok()) {
              resp.code = static_cast<int>(r.status.code());
              resp.error_message = std::string(r.status.message());
              // Throttling per the OTLP spec: UNAVAILABLE / RESOURCE_EXHAUSTED with RetryInfo.
              uint32_t retry = 0;
              if (Retryable(r.status.code())) {
                retry = r.retry_after_seconds > 0 ? r.retry_after_seconds : kDefaultRetryAfterSeconds;
              }
              resp.status_details = EncodeRpcStatus(resp.code, resp.error_message, retry);
            } else {
              resp.message = EncodeExportResponseProto(r.rejected_spans, r.rejected_message);
            }
            done(std::move(resp));
          });
}

}  // namespace vivace::receivers
