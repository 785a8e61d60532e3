#pragma once
// A gRPC server for unary methods whose messages we read and write as raw bytes (no generated
// classes). gRPC headers stay inside grpc_server.cc.

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

struct GrpcServerOptions {
  std::string listen = "0.0.0.0:4317";
  /// Largest message accepted, after decompression; larger ones fail with RESOURCE_EXHAUSTED.
  int max_receive_message_bytes = 4 << 20;
};

class GrpcServer {
 public:
  /// `handlers` maps full method names to handlers; unknown methods get UNIMPLEMENTED.
  static Result<std::unique_ptr<GrpcServer>> Start(GrpcServerOptions options,
                                                   std::map<std::string, GrpcHandler> handlers);
  virtual ~GrpcServer() = default;
  virtual uint16_t port() const = 0;
  /// Stops accepting and waits for in-flight calls (bounded by `deadline_ms`). Idempotent.
  virtual void Stop(int deadline_ms = 5000) = 0;
};

}  // namespace vivace::api
