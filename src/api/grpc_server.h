#pragma once
// A gRPC server for unary and server-streaming methods whose messages we read and write as raw
// bytes (no generated classes). gRPC headers stay inside grpc_server.cc.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/status.h"

namespace vivace::api {

struct GrpcReply {
  int code = 0;              // canonical status code
  std::string message;       // serialized response message when code == 0
  std::string error_message;
  std::string details;       // serialized google.rpc.Status for grpc-status-details-bin
};

struct GrpcCall {
  std::string method;   // "/package.Service/Method"
  std::string request;  // serialized request message, already decompressed
  std::string tenant;   // x-scope-orgid metadata, empty if absent
};

using GrpcResponder = std::function<void(GrpcReply)>;
using GrpcHandler = std::function<void(GrpcCall&& call, GrpcResponder respond)>;

/// The sending side of a server-streaming call. Thread-safe; calls are serialized.
class GrpcStream {
 public:
  virtual ~GrpcStream() = default;
  /// Sends one serialized response message and blocks until gRPC has taken it (flow control
  /// included). False once the call is over (cancelled by the client, past its deadline, the
  /// server stopping, or finished): stop producing, then return from the handler.
  virtual bool Write(std::string message) = 0;
  /// Ends the call with `reply.code` (0 = OK) and `reply.error_message` / `reply.details`; a
  /// non-empty `reply.message` with code 0 is sent as a last message first. Only the first call
  /// counts. A handler that returns without finishing ends the call with INTERNAL.
  virtual void Finish(GrpcReply reply) = 0;
  /// True once the client cancelled or the call's deadline passed.
  virtual bool cancelled() const = 0;
};

/// Serves one server-streaming call. Runs on a thread of its own, so it may block for the whole
/// call (running a search, waiting in Write). `stream` is valid until the handler returns.
using GrpcStreamHandler = std::function<void(GrpcCall&& call, GrpcStream* stream)>;

struct GrpcServerOptions {
  std::string listen = "0.0.0.0:4317";
  /// Largest message accepted, after decompression; larger ones fail with RESOURCE_EXHAUSTED.
  int max_receive_message_bytes = 4 << 20;
};

class GrpcServer {
 public:
  /// `handlers` and `stream_handlers` map full method names ("/package.Service/Method") to
  /// unary and server-streaming handlers; unknown methods get UNIMPLEMENTED.
  static Result<std::unique_ptr<GrpcServer>> Start(
      GrpcServerOptions options, std::map<std::string, GrpcHandler> handlers,
      std::map<std::string, GrpcStreamHandler> stream_handlers = {});
  virtual ~GrpcServer() = default;
  virtual uint16_t port() const = 0;
  /// Stops accepting, cancels calls still running after `deadline_ms`, and waits for them to
  /// end — streaming handlers included: their Write fails, and the server waits until they
  /// return. Idempotent.
  virtual void Stop(int deadline_ms = 5000) = 0;
};

}  // namespace vivace::api
