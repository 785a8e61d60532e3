#include "wal/internal/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

namespace vivace::wal::internal {

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

Status Fd::Close() {
  if (fd_ < 0) return Status::OK();
  int fd = Release();
  // Linux always releases the descriptor, even when close reports an error: never retry.
  if (::close(fd) != 0) return IoError("close", errno);
  return Status::OK();
}

Result<Fd> OpenFile(const std::string& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return IoError("open " + path, errno);
  return Fd(fd);
}

Status WriteAll(int fd, std::string_view data, std::string_view path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write " + std::string(path), errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status ReadAt(int fd, uint64_t offset, size_t n, std::string* dst, std::string_view path) {
  dst->resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, dst->data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return IoError("read " + std::string(path), errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  dst->resize(done);
  return Status::OK();
}

Status SyncData(int fd, std::string_view path) {
  if (::fdatasync(fd) != 0) return IoError("fdatasync " + std::string(path), errno);
  return Status::OK();
}

Status SyncDir(int fd, std::string_view path) {
  if (::fsync(fd) != 0) return IoError("fsync directory " + std::string(path), errno);
  return Status::OK();
}

Result<uint64_t> FileSize(int fd, std::string_view path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return IoError("stat " + std::string(path), errno);
  return static_cast<uint64_t>(st.st_size);
}

Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return IoError("opendir " + dir, errno);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) break;
    std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return IoError("readdir " + dir, err);
  return names;
}

Status CreateDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError("create directory " + dir, ec.value());
  return Status::OK();
}

}  // namespace vivace::wal::internal
