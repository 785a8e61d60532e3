#include "exporters/persistent_queue.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "base/coding.h"
#include "base/crc32c.h"
#include "base/logging.h"

namespace vivace::exporters {
namespace {

constexpr char kMagic[4] = {'V', 'V', 'Q', '1'};
constexpr size_t kHeaderSize = 36;
constexpr size_t kSeqDigits = 20;
constexpr uint8_t kMaxEncoding = static_cast<uint8_t>(RequestEncoding::kJson);

struct Header {
  RequestEncoding encoding = RequestEncoding::kProto;
  uint64_t spans = 0;
  uint32_t tenant_len = 0;
  uint32_t payload_crc = 0;  // masked
  uint64_t body_len = 0;
};

std::string EncodeHeader(const ExportRequest& r) {
  std::string h(kHeaderSize, '\0');
  std::memcpy(h.data(), kMagic, 4);
  h[4] = static_cast<char>(r.encoding);
  EncodeFixed64(h.data() + 8, r.spans);
  EncodeFixed32(h.data() + 16, static_cast<uint32_t>(r.tenant.size()));
  uint32_t crc = crc32c::Extend(crc32c::Value(r.tenant), r.body.data(), r.body.size());
  EncodeFixed32(h.data() + 20, crc32c::Mask(crc));
  EncodeFixed64(h.data() + 24, r.body.size());
  EncodeFixed32(h.data() + 32, crc32c::Mask(crc32c::Value(std::string_view(h.data(), 32))));
  return h;
}

// nullopt when the header is damaged.
std::optional<Header> DecodeHeader(std::string_view h) {
  if (h.size() < kHeaderSize || std::memcmp(h.data(), kMagic, 4) != 0) return std::nullopt;
  if (crc32c::Unmask(DecodeFixed32(h.data() + 32)) != crc32c::Value(h.substr(0, 32)))
    return std::nullopt;
  auto encoding = static_cast<uint8_t>(h[4]);
  if (encoding > kMaxEncoding) return std::nullopt;
  Header out;
  out.encoding = static_cast<RequestEncoding>(encoding);
  out.spans = DecodeFixed64(h.data() + 8);
  out.tenant_len = DecodeFixed32(h.data() + 16);
  out.payload_crc = DecodeFixed32(h.data() + 20);
  out.body_len = DecodeFixed64(h.data() + 24);
  return out;
}

// Closes a descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Status WriteAll(int fd, const std::string& path, std::initializer_list<std::string_view> parts) {
  std::vector<iovec> iov;
  for (std::string_view p : parts) {
    if (!p.empty()) iov.push_back(iovec{const_cast<char*>(p.data()), p.size()});
  }
  size_t i = 0;
  while (i < iov.size()) {
    ssize_t n =
        ::writev(fd, iov.data() + i, static_cast<int>(std::min<size_t>(iov.size() - i, IOV_MAX)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write " + path, errno);
    }
    auto left = static_cast<size_t>(n);
    while (i < iov.size() && left >= iov[i].iov_len) left -= iov[i++].iov_len;
    if (i < iov.size()) {
      iov[i].iov_base = static_cast<char*>(iov[i].iov_base) + left;
      iov[i].iov_len -= left;
    }
  }
  return Status::OK();
}

Status SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("open directory " + dir, errno);
  if (::fsync(fd.get()) != 0) return IoError("fsync directory " + dir, errno);
  return Status::OK();
}

Result<std::string> ReadFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("open " + path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return IoError("stat " + path, errno);
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pread(fd.get(), data.data() + done, data.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("read " + path, errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

// Parses "<20 digits><suffix>"; 0 when the name is not one of ours.
uint64_t SeqFromName(std::string_view name, std::string_view suffix) {
  if (name.size() != kSeqDigits + suffix.size() || name.substr(kSeqDigits) != suffix) return 0;
  uint64_t seq = 0;
  for (size_t i = 0; i < kSeqDigits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return 0;
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  return seq;
}

}  // namespace

std::string SanitizeComponentId(std::string_view id) {
  std::string out(id);
  for (char& c : out) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

std::string PersistentQueue::PathOf(uint64_t seq, const char* suffix) const {
  char name[kSeqDigits + 8];
  std::snprintf(name, sizeof name, "%020llu%s", static_cast<unsigned long long>(seq), suffix);
  return dir_ + "/" + name;
}

Result<std::unique_ptr<PersistentQueue>> PersistentQueue::Open(std::string dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("cannot create queue directory " + dir + ": " + ec.message());
  auto q = std::unique_ptr<PersistentQueue>(new PersistentQueue(std::move(dir)));
  VV_RETURN_IF_ERROR(q->Scan());
  return q;
}

Status PersistentQueue::Scan() {
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return IoError("open directory " + dir_, errno);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);

  uint64_t max_seq = 0;
  for (const std::string& name : names) {
    if (uint64_t seq = SeqFromName(name, ".tmp"); seq != 0) {
      // A write interrupted before its rename: the caller was never told it was queued.
      ::unlink((dir_ + "/" + name).c_str());
      max_seq = std::max(max_seq, seq);
      continue;
    }
    uint64_t seq = SeqFromName(name, ".req");
    if (seq == 0) continue;
    max_seq = std::max(max_seq, seq);
    std::string path = dir_ + "/" + name;
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return IoError("open " + path, errno);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return IoError("stat " + path, errno);
    char buf[kHeaderSize];
    ssize_t n = ::pread(fd.get(), buf, kHeaderSize, 0);
    std::optional<Header> h;
    if (n == static_cast<ssize_t>(kHeaderSize))
      h = DecodeHeader(std::string_view(buf, kHeaderSize));
    if (!h || static_cast<uint64_t>(st.st_size) != kHeaderSize + h->tenant_len + h->body_len) {
      log::Warn("persistent queue {}: removing damaged request file {}", dir_, name);
      ::unlink(path.c_str());
      ++damaged_files_;
      continue;
    }
    recovered_.push_back(Entry{seq, h->spans, h->body_len});
  }
  std::sort(recovered_.begin(), recovered_.end(),
            [](const Entry& a, const Entry& b) { return a.seq < b.seq; });
  MutexLock lock(mu_);
  next_seq_ = max_seq + 1;
  return Status::OK();
}

Result<uint64_t> PersistentQueue::Append(const ExportRequest& request) {
  uint64_t seq;
  {
    MutexLock lock(mu_);
    seq = next_seq_++;
  }
  std::string tmp = PathOf(seq, ".tmp");
  std::string path = PathOf(seq, ".req");
  std::string header = EncodeHeader(request);
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return IoError("create " + tmp, errno);
  Status s = WriteAll(fd.get(), tmp, {header, request.tenant, request.body});
  if (s.ok() && ::fdatasync(fd.get()) != 0) s = IoError("fsync " + tmp, errno);
  if (s.ok() && ::close(fd.Release()) != 0) s = IoError("close " + tmp, errno);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = IoError("rename " + tmp, errno);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  VV_RETURN_IF_ERROR(SyncDir(dir_));
  return seq;
}

Result<ExportRequest> PersistentQueue::Read(uint64_t seq) const {
  std::string path = PathOf(seq, ".req");
  VV_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  std::optional<Header> h = DecodeHeader(data);
  if (!h || data.size() != kHeaderSize + h->tenant_len + h->body_len) {
    return DataLoss("queued request " + path + " is damaged");
  }
  std::string_view payload = std::string_view(data).substr(kHeaderSize);
  if (crc32c::Unmask(h->payload_crc) != crc32c::Value(payload)) {
    return DataLoss("queued request " + path + " fails its checksum");
  }
  ExportRequest r;
  r.encoding = h->encoding;
  r.spans = h->spans;
  r.tenant.assign(payload.substr(0, h->tenant_len));
  // Move the body into place without a second copy of it.
  data.erase(0, kHeaderSize + h->tenant_len);
  r.body = std::move(data);
  return r;
}

Status PersistentQueue::Remove(uint64_t seq) {
  std::string path = PathOf(seq, ".req");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return IoError("remove " + path, errno);
  return Status::OK();
}

}  // namespace vivace::exporters
