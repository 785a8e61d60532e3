#pragma once
// The few POSIX file operations the WAL needs, with EINTR and short-transfer handling and
// errors as Status. Internal to wal/.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace vivace::wal::internal {

/// An owned file descriptor; closes on destruction (ignoring errors: call Close() to see them).
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  Status Close();

 private:
  int fd_ = -1;
};

/// open(2) with O_CLOEXEC added.
Result<Fd> OpenFile(const std::string& path, int flags, mode_t mode = 0644);
/// Writes all of `data` at the current offset.
Status WriteAll(int fd, std::string_view data, std::string_view path);
/// Reads up to `n` bytes at `offset` into `dst` (resized to what was read; short only at EOF).
Status ReadAt(int fd, uint64_t offset, size_t n, std::string* dst, std::string_view path);
/// fdatasync(2).
Status SyncData(int fd, std::string_view path);
/// fsync(2), for directories.
Status SyncDir(int fd, std::string_view path);
Result<uint64_t> FileSize(int fd, std::string_view path);
/// Names of the entries of `dir`, without "." and "..".
Result<std::vector<std::string>> ListDir(const std::string& dir);
/// Creates `dir` and missing parents.
Status CreateDirs(const std::string& dir);

}  // namespace vivace::wal::internal
