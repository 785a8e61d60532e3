#include "api/grpc_server.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "api/http_server.h"
#include "base/logging.h"
#include "base/mutex.h"

namespace vivace::api {
namespace {

struct Handlers {
  std::map<std::string, GrpcHandler> unary;
  std::map<std::string, GrpcStreamHandler> streaming;
};

// Counts streaming-handler threads so that Stop can wait for them.
struct HandlerThreads {
  Mutex mu;
  CondVar cv;
  int running VV_GUARDED_BY(mu) = 0;
};

class Reactor;

// What a streaming call's handler thread and its reactor share. The reactor pointer is valid
// until Finish has been called (gRPC calls OnDone, which deletes the reactor, only after it).
struct StreamState {
  Mutex mu;
  CondVar cv;
  bool writing VV_GUARDED_BY(mu) = false;  // a StartWrite awaits its OnWriteDone
  bool write_ok VV_GUARDED_BY(mu) = true;
  bool broken VV_GUARDED_BY(mu) = false;   // a write failed: the call is over
  std::atomic<bool> cancelled{false};
  Reactor* reactor = nullptr;  // set before the handler starts; not used after finished
  grpc::ByteBuffer buffer;     // the message being written
};

class Reactor : public grpc::ServerGenericBidiReactor {
 public:
  Reactor(grpc::GenericCallbackServerContext* ctx, const Handlers* handlers,
          std::shared_ptr<HandlerThreads> threads)
      : ctx_(ctx),
        handlers_(handlers),
        threads_(std::move(threads)),
        stream_(std::make_shared<StreamState>()) {
    // stream_ exists from the start (unused by unary calls), so OnCancel never races its creation.
    stream_->reactor = this;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INTERNAL, "request message missing"));
      return;
    }
    auto unary = handlers_->unary.find(ctx_->method());
    auto streaming = handlers_->streaming.find(ctx_->method());
    if (unary == handlers_->unary.end() && streaming == handlers_->streaming.end()) {
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
    if (unary != handlers_->unary.end()) {
      unary->second(std::move(call), [this](GrpcReply reply) { Reply(std::move(reply)); });
    } else {
      StartStream(streaming->second, std::move(call));
    }
  }

  void OnWriteDone(bool ok) override {
    MutexLock lock(stream_->mu);
    stream_->writing = false;
    stream_->write_ok = ok;
    if (!ok) stream_->broken = true;
    stream_->cv.NotifyAll();
  }

  void OnCancel() override { stream_->cancelled = true; }

  void OnDone() override { delete this; }

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

  void StartStream(const GrpcStreamHandler& handler, GrpcCall call);

  grpc::GenericCallbackServerContext* ctx_;
  const Handlers* handlers_;
  std::shared_ptr<HandlerThreads> threads_;
  const std::shared_ptr<StreamState> stream_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

// The GrpcStream a handler thread writes through.
class Stream : public GrpcStream {
 public:
  explicit Stream(std::shared_ptr<StreamState> state) : state_(std::move(state)) {}

  bool Write(std::string message) override {
    std::lock_guard<std::mutex> call(call_mu_);
    if (finished_ || state_->cancelled) return false;
    {
      MutexLock lock(state_->mu);
      if (state_->broken) return false;
      grpc::Slice slice(message);
      state_->buffer = grpc::ByteBuffer(&slice, 1);
      state_->writing = true;
    }
    // Outside the lock: gRPC may run OnWriteDone on this thread.
    state_->reactor->StartWrite(&state_->buffer);
    MutexLock lock(state_->mu);
    state_->cv.Wait(state_->mu, [this]() VV_REQUIRES(state_->mu) { return !state_->writing; });
    return state_->write_ok;
  }

  void Finish(GrpcReply reply) override {
    std::lock_guard<std::mutex> call(call_mu_);
    if (finished_) return;
    finished_ = true;
    Reactor* reactor = state_->reactor;  // not touched again: OnDone may delete it any time now
    if (reply.code != 0) {
      reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(reply.code), reply.error_message,
                                   reply.details));
      return;
    }
    if (!reply.message.empty()) {
      bool broken;
      {
        MutexLock lock(state_->mu);
        broken = state_->broken;
        if (!broken) {
          grpc::Slice slice(reply.message);
          state_->buffer = grpc::ByteBuffer(&slice, 1);
        }
      }
      if (!broken) {
        reactor->StartWriteAndFinish(&state_->buffer, grpc::WriteOptions(), grpc::Status::OK);
        return;
      }
    }
    reactor->Finish(grpc::Status::OK);
  }

  bool cancelled() const override { return state_->cancelled; }

  /// Ends a call its handler left open.
  void FinishIfOpen() {
    GrpcReply r;
    r.code = static_cast<int>(grpc::StatusCode::INTERNAL);
    r.error_message = "the handler returned without finishing the stream";
    Finish(std::move(r));
  }

 private:
  std::shared_ptr<StreamState> state_;
  std::mutex call_mu_;    // serializes Write and Finish
  bool finished_ = false;  // guarded by call_mu_
};

void Reactor::StartStream(const GrpcStreamHandler& handler, GrpcCall call) {
  {
    MutexLock lock(threads_->mu);
    ++threads_->running;
  }
  std::thread([handler, call = std::move(call), state = stream_, threads = threads_]() mutable {
    {
      Stream stream(state);
      handler(std::move(call), &stream);
      stream.FinishIfOpen();
    }
    MutexLock lock(threads->mu);
    --threads->running;
    threads->cv.NotifyAll();
  }).detach();
}

class Service : public grpc::CallbackGenericService {
 public:
  Service(Handlers handlers, std::shared_ptr<HandlerThreads> threads)
      : handlers_(std::move(handlers)), threads_(std::move(threads)) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    return new Reactor(ctx, &handlers_, threads_);
  }

 private:
  Handlers handlers_;
  std::shared_ptr<HandlerThreads> threads_;
};

class Server : public GrpcServer {
 public:
  explicit Server(Handlers handlers)
      : threads_(std::make_shared<HandlerThreads>()), service_(std::move(handlers), threads_) {}
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
    // Every call is over; handler threads may still be unwinding (a search that has not yet
    // noticed). They hold their handler, which may point at things our owner destroys next.
    MutexLock lock(threads_->mu);
    threads_->cv.Wait(threads_->mu,
                      [this]() VV_REQUIRES(threads_->mu) { return threads_->running == 0; });
  }

 private:
  std::shared_ptr<HandlerThreads> threads_;
  Service service_;
  std::unique_ptr<grpc::Server> server_;
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    GrpcServerOptions options, std::map<std::string, GrpcHandler> handlers,
    std::map<std::string, GrpcStreamHandler> stream_handlers) {
  auto server = std::make_unique<Server>(Handlers{std::move(handlers), std::move(stream_handlers)});
  VV_RETURN_IF_ERROR(server->Listen(options));
  return std::unique_ptr<GrpcServer>(std::move(server));
}

}  // namespace vivace::api
