#include "api/grpc_server.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>

#include "api/http_server.h"
#include "base/logging.h"

namespace vivace::api {
namespace {

class Reactor : public grpc::ServerGenericBidiReactor {
 public:
  Reactor(grpc::GenericCallbackServerContext* ctx, const std::map<std::string, GrpcHandler>* handlers)
      : ctx_(ctx), handlers_(handlers) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INTERNAL, "request message missing"));
      return;
    }
    auto it = handlers_->find(ctx_->method());
    if (it == handlers_->end()) {
      Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "unknown method " + ctx_->method()));
      return;
    }
    GrpcCall call;
    call.method = ctx_->method();
    std::vector<grpc::Slice> slices;
    if (!request_.Dump(&slices).ok()) {
      Finish(grpc::Status(grpc::StatusCode::INTERNAL, "cannot read request"));
      return;
    }
    size_t total = 0;
    for (const auto& s : slices) total += s.size();
    call.request.reserve(total);
    for (const auto& s : slices) call.request.append(reinterpret_cast<const char*>(s.begin()), s.size());
    request_.Clear();
    const auto& md = ctx_->client_metadata();
    auto t = md.find("x-scope-orgid");
    if (t != md.end()) call.tenant.assign(t->second.data(), t->second.size());
    it->second(std::move(call), [this](GrpcReply reply) { Reply(std::move(reply)); });
  }

  void OnDone() override { delete this; }
  void OnCancel() override {}

 private:
  void Reply(GrpcReply reply) {
    if (reply.code != 0) {
      Finish(grpc::Status(static_cast<grpc::StatusCode>(reply.code), reply.error_message, reply.details));
      return;
    }
    grpc::Slice slice(reply.message);
    response_ = grpc::ByteBuffer(&slice, 1);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  grpc::GenericCallbackServerContext* ctx_;
  const std::map<std::string, GrpcHandler>* handlers_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

class Service : public grpc::CallbackGenericService {
 public:
  explicit Service(std::map<std::string, GrpcHandler> handlers) : handlers_(std::move(handlers)) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    return new Reactor(ctx, &handlers_);
  }

 private:
  std::map<std::string, GrpcHandler> handlers_;
};

class Server : public GrpcServer {
 public:
  explicit Server(std::map<std::string, GrpcHandler> handlers) : service_(std::move(handlers)) {}
  ~Server() override { Stop(0); }

  Status Listen(const GrpcServerOptions& opts) {
    VV_ASSIGN_OR_RETURN(auto hp, SplitHostPort(opts.listen));
    std::string host = hp.first.empty() ? "0.0.0.0" : hp.first;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    grpc::ServerBuilder builder;
    int selected = 0;
    builder.AddListeningPort(host + ":" + std::to_string(hp.second), grpc::InsecureServerCredentials(), &selected);
    builder.SetMaxReceiveMessageSize(opts.max_receive_message_bytes);
    builder.SetMaxSendMessageSize(64 << 20);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
    if (!server_ || selected == 0) return Unavailable("cannot listen on " + opts.listen + " (gRPC)");
    port_ = static_cast<uint16_t>(selected);
    return Status::OK();
  }

  uint16_t port() const override { return port_; }

  void Stop(int deadline_ms) override {
    if (stopped_.exchange(true) || !server_) return;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
    server_->Wait();
  }

 private:
  Service service_;
  std::unique_ptr<grpc::Server> server_;
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::unique_ptr<GrpcServer>> GrpcServer::Start(GrpcServerOptions options,
                                                      std::map<std::string, GrpcHandler> handlers) {
  auto server = std::make_unique<Server>(std::move(handlers));
  VV_RETURN_IF_ERROR(server->Listen(options));
  return std::unique_ptr<GrpcServer>(std::move(server));
}

}  // namespace vivace::api
