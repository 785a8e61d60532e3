#include "api/search_routes.h"

#include <map>
#include <mutex>
#include <vector>

#include "api/routes.h"
#include "base/strings.h"
#include "model/tenant.h"
#include "query/search_render.h"
#include "query/trace_by_id.h"

namespace vivace::api {
namespace {

constexpr std::string_view kValuesSuffix = "/values";

HttpResponse ErrorResponse(const Status& s) {
  int status = HttpStatusFor(s.code());
  // Tempo answers a bad request with the bare message, other failures through http.Error
  // (message and newline).
  std::string body(s.message());
  if (status != 400) body += '\n';
  return HttpResponse::Text(status, std::move(body));
}

HttpResponse Rendered(query::RenderedBody r) {
  HttpResponse resp;
  resp.content_type = std::move(r.content_type);
  resp.body = std::move(r.body);
  return resp;
}

// The tenant of a request, or the 400 that rejects it.
Result<std::string> RequestTenant(const HttpRequest& req) {
  std::string tenant = TenantOf(req);
  Status s = model::ValidateTenant(tenant);
  if (!s.ok()) return InvalidArgument(std::string(s.message()));
  return tenant;
}

void SearchRoute(query::SearchService* service, const SearchApiOptions& options,
                 const HttpRequest& req, const HttpResponder& respond) {
  auto raw = query::ParseSearchParams(req.QueryParams());
  if (!raw.ok()) return respond(ErrorResponse(raw.status()));
  auto request = query::FinishSearchRequest(*raw, options.limits);
  if (!request.ok()) return respond(ErrorResponse(request.status()));
  auto tenant = RequestTenant(req);
  if (!tenant.ok()) return respond(ErrorResponse(tenant.status()));
  auto result = service->Search(*tenant, *request, nullptr);
  if (!result.ok()) return respond(ErrorResponse(result.status()));
  respond(Rendered(query::RenderSearch(*result, query::FormatFromAccept(req.Header("Accept")))));
}

void TagsRoute(query::SearchService* service, bool v2, const HttpRequest& req,
               const HttpResponder& respond) {
  auto request = query::ParseTagsParams(req.QueryParams());
  if (!request.ok()) return respond(ErrorResponse(request.status()));
  auto tenant = RequestTenant(req);
  if (!tenant.ok()) return respond(ErrorResponse(tenant.status()));
  query::TagNamesResult found;
  if (request->scope != "intrinsic") {  // Tempo's frontend answers intrinsics from a fixed list
    auto r = service->TagNames(*tenant, *request);
    if (!r.ok()) return respond(ErrorResponse(r.status()));
    found = std::move(*r);
  }
  respond(Rendered(query::RenderTagNames(found, request->scope, request->limit, v2,
                                         query::FormatFromAccept(req.Header("Accept")))));
}

void TagValuesRoute(query::SearchService* service, bool v2, std::string_view prefix,
                    const HttpRequest& req, const HttpResponder& respond) {
  // <prefix><tag>/values; the tag may itself hold '/' once decoded (Tempo's route is greedy).
  std::string_view rest = std::string_view(req.path).substr(prefix.size());
  if (rest.size() < kValuesSuffix.size() ||
      rest.substr(rest.size() - kValuesSuffix.size()) != kValuesSuffix) {
    return respond(HttpResponse::Text(404, "404 page not found\n"));
  }
  std::string tag = query::DecodeTagName(rest.substr(0, rest.size() - kValuesSuffix.size()));
  auto request = query::ParseTagValuesParams(std::move(tag), v2, req.QueryParams());
  if (!request.ok()) return respond(ErrorResponse(request.status()));
  auto tenant = RequestTenant(req);
  if (!tenant.ok()) return respond(ErrorResponse(tenant.status()));
  query::TagValuesResult found;
  std::optional<std::vector<query::TagValue>> fixed;
  if (v2) fixed = query::FixedTagValuesV2(request->tag);
  if (fixed) {
    found.values = std::move(*fixed);
  } else {
    auto r = service->TagValues(*tenant, *request);
    if (!r.ok()) return respond(ErrorResponse(r.status()));
    found = std::move(*r);
  }
  respond(Rendered(query::RenderTagValues(found, request->tag, request->limit, v2,
                                          query::FormatFromAccept(req.Header("Accept")))));
}

GrpcReply GrpcError(const Status& s) {
  GrpcReply r;
  r.code = static_cast<int>(s.code());  // Status codes are gRPC's canonical codes
  r.error_message = std::string(s.message());
  return r;
}

// Collects a streaming search's progress and writes it in messages no more often than the
// configured interval. Called by the engine from one thread at a time; locked anyway.
class ProgressWriter {
 public:
  ProgressWriter(GrpcStream* stream, const SearchApiOptions& options)
      : stream_(stream), options_(options), last_send_(std::chrono::steady_clock::now()) {}

  /// True once a write failed (the call is over).
  bool broken() {
    std::lock_guard<std::mutex> lock(mu_);
    return broken_;
  }

  void Found(std::span<const traceql::TraceResult> traces, const traceql::SearchMetrics& so_far) {
    std::lock_guard<std::mutex> lock(mu_);
    if (broken_) return;
    for (const auto& t : traces) {
      auto [it, inserted] = index_.emplace(t.id, pending_.size());
      if (inserted) {
        pending_.push_back(t);
      } else {
        pending_[it->second] = t;  // an update replaces what is not yet sent
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_send_ < options_.stream_interval) return;
    last_send_ = now;
    for (auto& message :
         query::EncodeSearchSegments(pending_, so_far, options_.max_stream_message_bytes)) {
      if (!stream_->Write(std::move(message))) {
        broken_ = true;
        break;
      }
    }
    pending_.clear();
    index_.clear();
  }

 private:
  GrpcStream* stream_;
  const SearchApiOptions& options_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_send_;
  std::vector<traceql::TraceResult> pending_;
  std::map<model::TraceId, size_t> index_;  // trace -> its place in pending_
  bool broken_ = false;
};

}  // namespace

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kUnimplemented:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kResourceExhausted:
      return 429;  // Tempo's mapping of codes.ResourceExhausted
    case StatusCode::kCancelled:
      return 499;  // Tempo's StatusClientClosedRequest
    case StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

void RegisterSearchRoutes(Router* router, query::SearchService* service, SearchApiOptions options) {
  router->Exact({"GET"}, "/api/search",
                [service, options](HttpRequest&& req, HttpResponder respond) {
                  SearchRoute(service, options, req, respond);
                });
  router->Exact({"GET"}, "/api/search/tags", [service](HttpRequest&& req, HttpResponder respond) {
    TagsRoute(service, false, req, respond);
  });
  router->Exact({"GET"}, "/api/v2/search/tags",
                [service](HttpRequest&& req, HttpResponder respond) {
                  TagsRoute(service, true, req, respond);
                });
  router->Prefix({"GET"}, "/api/search/tag/", [service](HttpRequest&& req, HttpResponder respond) {
    TagValuesRoute(service, false, "/api/search/tag/", req, respond);
  });
  router->Prefix({"GET"}, "/api/v2/search/tag/",
                 [service](HttpRequest&& req, HttpResponder respond) {
                   TagValuesRoute(service, true, "/api/v2/search/tag/", req, respond);
                 });
}

GrpcStreamHandler SearchStreamHandler(query::SearchService* service, SearchApiOptions options) {
  return [service, options](GrpcCall&& call, GrpcStream* stream) {
    auto raw = query::DecodeSearchRequestProto(call.request);
    if (!raw.ok()) return stream->Finish(GrpcError(raw.status()));
    auto request = query::FinishSearchRequest(*raw, options.limits);
    if (!request.ok()) return stream->Finish(GrpcError(request.status()));
    std::string tenant(Trim(call.tenant));
    if (tenant.empty()) tenant = std::string(model::kDefaultTenant);
    if (Status s = model::ValidateTenant(tenant); !s.ok()) {
      return stream->Finish(GrpcError(InvalidArgument(std::string(s.message()))));
    }
    ProgressWriter progress(stream, options);
    auto result = service->Search(
        tenant, *request,
        [&progress, stream](std::span<const traceql::TraceResult> found, const traceql::SearchMetrics& so_far) {
          progress.Found(found, so_far);
          return !progress.broken() && !stream->cancelled();  // a client that went away stops the search
        });
    if (!result.ok()) return stream->Finish(GrpcError(result.status()));
    // The complete answer last, as Tempo's frontend ends its stream.
    for (auto& message : query::EncodeSearchSegments(result->traces, result->metrics,
                                                     options.max_stream_message_bytes)) {
      if (!stream->Write(std::move(message))) break;
    }
    stream->Finish(GrpcReply{});
  };
}

}  // namespace vivace::api
