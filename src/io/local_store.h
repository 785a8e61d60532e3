#pragma once
// LocalStore: an ObjectStore on a local directory, one file per object at "<root>/<key>".
//
// Put writes "<root>/<key>.tmp.<16 random hex digits>" (creating missing parent directories),
// fdatasyncs it, renames it over "<root>/<key>" and fsyncs the directories it changed, so an
// object is either absent, old or whole. Delete unlinks the file and removes the parent
// directories this leaves empty, up to but not including the root, so deleted blocks leave no
// empty directories behind.
//
// One LocalStore per root: several in one process, or several processes, sharing a root work
// for reads, puts and deletes, but CleanupTemporaries in one would break the others' puts in
// flight. Only regular files are objects; symlinks and other files are ignored.

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "io/object_store.h"

namespace vivace::io {

class LocalStore final : public ObjectStore {
 public:
  /// As NewLocalStore, with the concrete type. InvalidArgument for an empty root; the error of
  /// creating it otherwise, or FailedPrecondition if it exists and is not a directory.
  static Result<std::unique_ptr<LocalStore>> Open(std::string root);

  Result<std::string> Get(std::string_view key) override;
  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<uint64_t> Size(std::string_view key) override;
  Status Put(std::string_view key, std::string_view data) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;
  /// Streams into the temporary file; Commit does what Put does after writing.
  Result<std::unique_ptr<ObjectWriter>> NewWriter(std::string_view key) override;
  /// Keeps the file open and mapped read-only until the reader is destroyed (one descriptor
  /// per reader). Objects are only ever replaced or unlinked, never rewritten in place; a file
  /// truncated by something else while mapped would fault (SIGBUS) on a read past its new end.
  Result<std::unique_ptr<ObjectReader>> OpenReader(std::string_view key) override;
  std::string Describe() const override { return "local:" + root_; }

  /// Removes every temporary file under the root except those of this store's Puts in flight
  /// (i.e. what Puts interrupted by a crash left), then the directories this leaves empty.
  /// Returns how many files it removed. Meant for startup.
  Result<uint64_t> CleanupTemporaries();

  /// The root directory as given to Open, without trailing slashes.
  const std::string& root() const { return root_; }

 private:
  class Writer;
  /// A temporary file being written, registered in in_flight_.
  struct TempFile {
    std::string path;
    int fd = -1;
  };

  explicit LocalStore(std::string root) : root_(std::move(root)) {}

  std::string PathOf(std::string_view key) const;
  /// Creates the temporary file of a put of `key` (and the missing parent directories),
  /// retrying while concurrent Deletes remove the directories it creates.
  Result<TempFile> CreateTemp(std::string_view key);
  /// fdatasyncs and closes the file, renames it over the key and fsyncs the directory. On error
  /// the temporary is abandoned.
  Status CommitTemp(std::string_view key, TempFile& tmp);
  /// Closes and removes the temporary file and the parent directories this leaves empty.
  void AbandonTemp(std::string_view key, TempFile& tmp);
  /// Creates the missing parent directories of `key` and fsyncs the directories that gained an
  /// entry. False if a concurrent Delete removed one of them meanwhile.
  Result<bool> CreateParents(std::string_view key);
  /// Removes the now-empty parent directories of `key` (deepest first, never the root) and
  /// fsyncs the directory that lost the last entry; `removed_entry` says whether the caller
  /// already removed something from the key's parent directory.
  Status RemoveEmptyParents(std::string_view key, bool removed_entry);
  /// Appends the objects under the directory `rel` ("" for the root, else ending in '/') whose
  /// keys start with `prefix`, and the temporaries there if `temporaries` is set instead.
  Status Walk(const std::string& rel, std::string_view prefix, bool temporaries,
              std::vector<ObjectInfo>* out);

  const std::string root_;
  Mutex mu_;
  std::set<std::string> in_flight_ VV_GUARDED_BY(mu_);  // temporary paths of running Puts
};

}  // namespace vivace::io
