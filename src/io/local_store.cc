#include "io/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>

#include "io/internal/common.h"

namespace vivace::io {
namespace {

// Put retries when a concurrent Delete removes a directory it has just created. Each retry
// means another thread made progress, so hitting this bound takes pathological contention.
constexpr int kMaxPutAttempts = 64;

/// An owned file descriptor, closed on destruction (call Close() to see errors).
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&&) = delete;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  Status Close(const std::string& path) {
    // Linux releases the descriptor even when close fails: never retry.
    if (::close(std::exchange(fd_, -1)) != 0) return IoError("close " + path, errno);
    return Status::OK();
  }

 private:
  int fd_;
};

/// open(2) with O_CLOEXEC, retried on EINTR. -1 with errno set on failure.
int OpenRetrying(const std::string& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write " + path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

/// Reads exactly `n` bytes at `offset` into `out`. The caller checked the range against the
/// file's size, so hitting EOF first means the file shrank under us: DataLoss.
Status ReadExactly(int fd, uint64_t offset, uint64_t n, std::string* out,
                   const std::string& path) {
  out->resize(n);
  uint64_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out->data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return IoError("read " + path, errno);
    }
    if (r == 0) {
      return DataLoss("short read of " + path + ": got " + std::to_string(done) + " of " +
                      std::to_string(n) + " bytes at offset " + std::to_string(offset));
    }
    done += static_cast<uint64_t>(r);
  }
  return Status::OK();
}

/// fsync(2) on a directory. False if the directory no longer exists (nothing left to sync).
Result<bool> SyncDir(const std::string& dir) {
  int raw = OpenRetrying(dir, O_RDONLY | O_DIRECTORY);
  if (raw < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return IoError("open directory " + dir, errno);
  }
  Fd fd(raw);
  if (::fsync(fd.get()) != 0) return IoError("fsync directory " + dir, errno);
  VV_RETURN_IF_ERROR(fd.Close(dir));
  return true;
}

/// 16 random lowercase hex digits for a temporary file name.
std::string RandomSuffix() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }());
  char buf[internal::kTempRandomDigits + 1];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, static_cast<uint64_t>(rng()));
  return std::string(buf, internal::kTempRandomDigits);
}

/// rename(2) of a file over `to`, except that an empty directory in the way (which only an
/// interrupted Delete or someone else leaves) is removed first: it holds no object. 0 or errno.
int RenameOver(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) == 0) return 0;
  if (errno != EISDIR) return errno;
  if (::rmdir(to.c_str()) != 0) return EISDIR;
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
}

/// An open object file and its size.
struct OpenObject {
  Fd fd;
  uint64_t size;
};

/// Opens the object file at `path` for reading: NotFound if there is no such regular file.
Result<OpenObject> OpenForRead(std::string_view key, const std::string& path) {
  int raw = OpenRetrying(path, O_RDONLY | O_NOFOLLOW);
  if (raw < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
      return internal::ObjectNotFound(key, path);
    }
    return IoError("open " + path, errno);
  }
  Fd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return IoError("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return internal::ObjectNotFound(key, path);
  return OpenObject{std::move(fd), static_cast<uint64_t>(st.st_size)};
}

Status PrefixIsObject(std::string_view key, const std::string& path) {
  return FailedPrecondition("cannot put " + internal::QuoteKey(key) + " at " + path +
                            ": a prefix of the key is an object");
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> NewLocalStore(std::string root) {
  VV_ASSIGN_OR_RETURN(std::unique_ptr<LocalStore> store, LocalStore::Open(std::move(root)));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

Result<std::unique_ptr<LocalStore>> LocalStore::Open(std::string root) {
  if (root.empty()) return InvalidArgument("local object store: empty root directory");
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) {
    if (errno != ENOENT) return IoError("stat " + root, errno);
    // Create the missing directories one by one, so that an error names the one that failed.
    for (size_t slash = root.find('/', 1);; slash = root.find('/', slash + 1)) {
      std::string dir = root.substr(0, slash);
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        return IoError("create directory " + dir, errno);
      }
      if (slash == std::string::npos) break;
    }
    if (::stat(root.c_str(), &st) != 0) return IoError("stat " + root, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return FailedPrecondition("local object store root " + root + " is not a directory");
  }
  return std::unique_ptr<LocalStore>(new LocalStore(std::move(root)));
}

std::string LocalStore::PathOf(std::string_view key) const {
  std::string path = root_;
  if (key.empty()) return path;
  if (path.back() != '/') path += '/';
  path += key;
  return path;
}

Result<std::string> LocalStore::Get(std::string_view key) {
  VV_RETURN_IF_ERROR(ValidateKey(key));
  std::string path = PathOf(key);
  VV_ASSIGN_OR_RETURN(OpenObject obj, OpenForRead(key, path));
  std::string out;
  VV_RETURN_IF_ERROR(ReadExactly(obj.fd.get(), 0, obj.size, &out, path));
  return out;
}

Result<std::string> LocalStore::GetRange(std::string_view key, uint64_t offset, uint64_t length) {
  VV_RETURN_IF_ERROR(ValidateKey(key));
  std::string path = PathOf(key);
  VV_ASSIGN_OR_RETURN(OpenObject obj, OpenForRead(key, path));
  VV_RETURN_IF_ERROR(internal::CheckRange(key, offset, length, obj.size));
  std::string out;
  VV_RETURN_IF_ERROR(ReadExactly(obj.fd.get(), offset, length, &out, path));
  return out;
}

namespace {

// Maps the file when it can (reads are then copies from memory, and Mapped() lets callers
// take views); otherwise reads with pread. The mapping, like the descriptor, keeps the bytes
// the file had when opened: objects are never rewritten in place, only replaced or unlinked.
class FileReader final : public ObjectReader {
 public:
  FileReader(std::string key, std::string path, Fd fd, uint64_t size)
      : key_(std::move(key)), path_(std::move(path)), fd_(std::move(fd)), size_(size) {
    if (size_ > 0) {
      void* m = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_.get(), 0);
      if (m != MAP_FAILED) map_ = static_cast<const char*>(m);
    }
  }
  ~FileReader() override {
    if (map_ != nullptr) ::munmap(const_cast<char*>(map_), size_);
  }
  uint64_t size() const override { return size_; }
  std::string_view Mapped() const override {
    return map_ != nullptr ? std::string_view(map_, size_) : std::string_view();
  }
  Status ReadAt(uint64_t offset, std::span<char> out) override {
    VV_RETURN_IF_ERROR(internal::CheckRange(key_, offset, out.size(), size_));
    if (map_ != nullptr) {
      std::memcpy(out.data(), map_ + offset, out.size());
      return Status::OK();
    }
    size_t done = 0;
    while (done < out.size()) {
      ssize_t r = ::pread(fd_.get(), out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return IoError("read " + path_, errno);
      }
      if (r == 0) {
        return DataLoss("short read of " + path_ + ": got " + std::to_string(done) + " of " +
                        std::to_string(out.size()) + " bytes at offset " + std::to_string(offset));
      }
      done += static_cast<size_t>(r);
    }
    return Status::OK();
  }

 private:
  const std::string key_;
  const std::string path_;
  Fd fd_;
  const uint64_t size_;
  const char* map_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<ObjectReader>> LocalStore::OpenReader(std::string_view key) {
  VV_RETURN_IF_ERROR(ValidateKey(key));
  std::string path = PathOf(key);
  VV_ASSIGN_OR_RETURN(OpenObject obj, OpenForRead(key, path));
  return std::unique_ptr<ObjectReader>(new FileReader(std::string(key), std::move(path), std::move(obj.fd), obj.size));
}

Result<uint64_t> LocalStore::Size(std::string_view key) {
  VV_RETURN_IF_ERROR(ValidateKey(key));
  std::string path = PathOf(key);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return internal::ObjectNotFound(key, path);
    return IoError("stat " + path, errno);
  }
  if (!S_ISREG(st.st_mode)) return internal::ObjectNotFound(key, path);
  return static_cast<uint64_t>(st.st_size);
}

Status LocalStore::Put(std::string_view key, std::string_view data) {
  VV_RETURN_IF_ERROR(ValidateKey(key));
  VV_ASSIGN_OR_RETURN(TempFile tmp, CreateTemp(key));
  Status s = WriteAll(tmp.fd, data, tmp.path);
  if (!s.ok()) {
    AbandonTemp(key, tmp);
    return s;
  }
  return CommitTemp(key, tmp);
}

/// Streams an object into its temporary file; Commit renames it over the key.
class LocalStore::Writer final : public ObjectWriter {
 public:
  Writer(LocalStore* store, std::string key, TempFile tmp) : store_(store), key_(std::move(key)), tmp_(std::move(tmp)) {}
  ~Writer() override {
    if (!done_) store_->AbandonTemp(key_, tmp_);
  }
  Status Append(std::string_view data) override {
    if (done_) return FailedPrecondition("object writer for " + internal::QuoteKey(key_) + " is finished");
    Status s = WriteAll(tmp_.fd, data, tmp_.path);
    if (s.ok()) size_ += data.size();
    return s;
  }
  Status Commit() override {
    if (done_) return FailedPrecondition("object writer for " + internal::QuoteKey(key_) + " is finished");
    done_ = true;
    return store_->CommitTemp(key_, tmp_);
  }
  uint64_t size() const override { return size_; }

 private:
  LocalStore* store_;
  std::string key_;
  TempFile tmp_;
  uint64_t size_ = 0;
  bool done_ = false;
};

Result<std::unique_ptr<ObjectWriter>> LocalStore::NewWriter(std::string_view key) {
  VV_RETURN_IF_ERROR(ValidateKey(key));
  VV_ASSIGN_OR_RETURN(TempFile tmp, CreateTemp(key));
  return std::unique_ptr<ObjectWriter>(new Writer(this, std::string(key), std::move(tmp)));
}

Result<LocalStore::TempFile> LocalStore::CreateTemp(std::string_view key) {
  for (int attempt = 0; attempt < kMaxPutAttempts; ++attempt) {
    VV_ASSIGN_OR_RETURN(bool parents_exist, CreateParents(key));
    if (!parents_exist) continue;
    TempFile tmp;
    tmp.path = PathOf(key);
    tmp.path += internal::kTempMarker;
    tmp.path += RandomSuffix();
    // Registered before the file exists, so CleanupTemporaries never sees it unregistered.
    {
      MutexLock lock(mu_);
      in_flight_.insert(tmp.path);
    }
    tmp.fd = OpenRetrying(tmp.path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (tmp.fd >= 0) return tmp;
    int err = errno;
    {
      MutexLock lock(mu_);
      in_flight_.erase(tmp.path);
    }
    // ENOENT: a concurrent Delete removed the directory we created (unless that is the root,
    // which we never remove). EEXIST: the random name is taken. Both: try again.
    if ((err == ENOENT && key.find('/') != std::string_view::npos) || err == EEXIST) continue;
    if (err == ENOTDIR) return PrefixIsObject(key, tmp.path);
    return IoError("create " + tmp.path, err);
  }
  return Unavailable("put " + PathOf(key) + ": its directory kept being removed by concurrent deletes");
}

Status LocalStore::CommitTemp(std::string_view key, TempFile& tmp) {
  Fd fd(std::exchange(tmp.fd, -1));
  Status s;
  if (::fdatasync(fd.get()) != 0) s = IoError("fdatasync " + tmp.path, errno);
  if (s.ok()) s = fd.Close(tmp.path);
  std::string path = PathOf(key);
  if (int err = s.ok() ? RenameOver(tmp.path, path) : 0; err != 0) {
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {
      s = FailedPrecondition("cannot put " + internal::QuoteKey(key) + ": " + path +
                             " is a directory of other objects");
    } else {
      s = IoError("rename " + tmp.path + " to " + path, err);
    }
  }
  if (!s.ok()) {
    AbandonTemp(key, tmp);
    return s;
  }
  {
    MutexLock lock(mu_);
    in_flight_.erase(tmp.path);
  }
  size_t slash = key.rfind('/');
  return SyncDir(PathOf(slash == std::string_view::npos ? std::string_view() : key.substr(0, slash))).status();
}

void LocalStore::AbandonTemp(std::string_view key, TempFile& tmp) {
  if (tmp.fd >= 0) ::close(std::exchange(tmp.fd, -1));
  ::unlink(tmp.path.c_str());  // best effort: CleanupTemporaries gets it otherwise
  {
    MutexLock lock(mu_);
    in_flight_.erase(tmp.path);
  }
  RemoveEmptyParents(key, /*removed_entry=*/true).IgnoreError();  // ones we may have created
}

Result<bool> LocalStore::CreateParents(std::string_view key) {
  std::vector<std::string> gained_entry;  // directories in which we created a directory
  for (size_t slash = key.find('/'); slash != std::string_view::npos;
       slash = key.find('/', slash + 1)) {
    std::string dir = PathOf(key.substr(0, slash));
    if (::mkdir(dir.c_str(), 0755) == 0) {
      size_t up = key.rfind('/', slash - 1);
      gained_entry.push_back(
          PathOf(up == std::string_view::npos ? std::string_view() : key.substr(0, up)));
      continue;
    }
    int err = errno;
    // EEXIST: a directory, or an object file (then the next mkdir or the open says ENOTDIR).
    if (err == EEXIST) continue;
    // A concurrent Delete removed the parent meanwhile, unless that is the root (which we
    // never remove: then someone else did, and retrying would not help).
    if (err == ENOENT && key.find('/') < slash) return false;
    if (err == ENOTDIR) return PrefixIsObject(key, dir);
    return IoError("create directory " + dir, err);
  }
  for (const std::string& dir : gained_entry) {
    VV_ASSIGN_OR_RETURN(bool exists, SyncDir(dir));
    if (!exists) return false;
  }
  return true;
}

Status LocalStore::RemoveEmptyParents(std::string_view key, bool removed_entry) {
  // `holder` is the key prefix naming the deepest directory that still exists and may have lost
  // an entry; npos stands for the root.
  size_t holder = key.rfind('/');
  while (holder != std::string_view::npos) {
    std::string dir = PathOf(key.substr(0, holder));
    if (::rmdir(dir.c_str()) != 0) {
      int err = errno;
      // Not empty (the usual case), or already gone / never created.
      if (err == ENOTEMPTY || err == EEXIST || err == ENOENT || err == ENOTDIR || err == EBUSY) {
        break;
      }
      return IoError("remove directory " + dir, err);
    }
    removed_entry = true;
    holder = key.rfind('/', holder - 1);  // holder >= 1: ValidateKey forbids a leading '/'
  }
  if (!removed_entry) return Status::OK();
  std::string dir = PathOf(holder == std::string_view::npos ? std::string_view()
                                                            : key.substr(0, holder));
  return SyncDir(dir).status();
}

Status LocalStore::Delete(std::string_view key) {
  VV_RETURN_IF_ERROR(ValidateKey(key));
  std::string path = PathOf(key);
  bool removed = true;
  if (::unlink(path.c_str()) != 0) {
    int err = errno;
    // Absent, or a directory of other objects (Linux says EISDIR): no object with this key.
    if (err != ENOENT && err != ENOTDIR && err != EISDIR) return IoError("delete " + path, err);
    removed = false;
  }
  // Also when nothing was removed: this finishes the work of an earlier Delete that failed
  // after the unlink.
  return RemoveEmptyParents(key, removed);
}

Result<std::vector<ObjectInfo>> LocalStore::List(std::string_view prefix) {
  std::vector<ObjectInfo> out;
  VV_RETURN_IF_ERROR(Walk("", prefix, /*temporaries=*/false, &out));
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status LocalStore::Walk(const std::string& rel, std::string_view prefix, bool temporaries,
                        std::vector<ObjectInfo>* out) {
  std::string dir = PathOf(rel);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    // A subdirectory removed by a concurrent Delete since we read its parent: nothing there.
    if (!rel.empty() && (errno == ENOENT || errno == ENOTDIR)) return Status::OK();
    return IoError("open directory " + dir, errno);
  }
  std::vector<std::string> subdirs;
  Status status;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno != 0) status = IoError("read directory " + dir, errno);
      break;
    }
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string key = rel;
    key += name;
    struct stat st;
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // deleted since readdir
      status = IoError("stat " + PathOf(key), errno);
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      key += '/';
      // Descend only where keys can start with the prefix.
      if (temporaries || key.starts_with(prefix) || prefix.starts_with(key)) {
        subdirs.push_back(std::move(key));
      }
      continue;
    }
    if (!S_ISREG(st.st_mode)) continue;
    if (internal::IsTemporaryName(name) != temporaries) continue;
    if (!key.starts_with(prefix)) continue;
    out->push_back(ObjectInfo{std::move(key), static_cast<uint64_t>(st.st_size)});
  }
  ::closedir(d);
  VV_RETURN_IF_ERROR(status);
  for (const std::string& sub : subdirs) {
    VV_RETURN_IF_ERROR(Walk(sub, prefix, temporaries, out));
  }
  return Status::OK();
}

Result<uint64_t> LocalStore::CleanupTemporaries() {
  std::vector<ObjectInfo> temporaries;
  VV_RETURN_IF_ERROR(Walk("", "", /*temporaries=*/true, &temporaries));
  uint64_t removed = 0;
  for (const ObjectInfo& t : temporaries) {
    std::string path = PathOf(t.key);
    {
      MutexLock lock(mu_);
      if (in_flight_.contains(path)) continue;
    }
    if (::unlink(path.c_str()) == 0) {
      ++removed;
    } else if (errno != ENOENT) {
      return IoError("delete temporary " + path, errno);
    }
    VV_RETURN_IF_ERROR(RemoveEmptyParents(t.key, /*removed_entry=*/true));
  }
  return removed;
}

}  // namespace vivace::io
