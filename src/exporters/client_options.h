#pragma once
// Client settings the OTLP exporters share: the Collector's configtls client keys and
// configcompression. Parsed in exporters_config.cc.

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace YAML {
class Node;
}

namespace vivace::exporters {

/// `tls` (configtls.ClientConfig). TLS is used unless `insecure` (an https:// endpoint
/// always uses TLS). Files are PEM.
struct TlsOptions {
  bool insecure = false;
  bool insecure_skip_verify = false;  // TLS without verifying the server's certificate
  std::string ca_file;                // trusted roots; empty = the system's
  std::string cert_file;              // client certificate (mutual TLS), with key_file
  std::string key_file;
  std::string server_name_override;  // the name checked in the server's certificate, and SNI
};

enum class Compression { kNone, kGzip, kZstd, kDeflate };

/// Header/metadata pairs, in configuration order.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// Reads a whole (small) file: certificates and keys.
Result<std::string> ReadSmallFile(const std::string& path);

namespace internal {
// Config pieces shared by the OTLP exporters' parsers (exporters_config.cc).
Status ParseTls(const YAML::Node& node, const std::string& path, TlsOptions* out);
Status ParseHeaders(const YAML::Node& node, const std::string& path, HeaderList* out);
Status ParseCompression(const YAML::Node& node, const std::string& path, bool allow_zstd_deflate,
                        Compression* out);
}  // namespace internal

}  // namespace vivace::exporters
