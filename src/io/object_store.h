#pragma once
// ObjectStore: the flat key -> bytes storage that blocks live in. The interface stays within what
// S3 offers (whole-object atomic puts, ranged gets, HEAD, prefix listing, idempotent deletes) so
// that an S3 implementation can be added without changing callers.
//
// Implementations: NewMemoryStore() (tests), NewLocalStore() (a directory; see local_store.h),
// FaultInjectingStore (tests; see fault_store.h).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace vivace::io {

/// Longest key ValidateKey accepts, in bytes: S3's limit.
inline constexpr size_t kMaxKeyBytes = 1024;
/// Longest '/'-separated segment of a key, in bytes: NAME_MAX (255) minus the 21 bytes of the
/// local store's temporary suffix ".tmp.<16 hex digits>".
inline constexpr size_t kMaxKeySegmentBytes = 234;

/// One object as List reports it.
struct ObjectInfo {
  std::string key;
  uint64_t size = 0;

  bool operator==(const ObjectInfo&) const = default;
};

/// Builds one object from pieces appended in order (S3: a multipart upload), so that a large
/// object need not be held in memory. Nothing is visible under the key before Commit, which has
/// Put's atomicity and durability. Destroying an uncommitted writer discards what it wrote.
/// Not thread-safe.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual Status Append(std::string_view data) = 0;
  /// Makes the object visible. The writer is finished afterwards, whatever the result.
  virtual Status Commit() = 0;
  /// Bytes appended so far.
  virtual uint64_t size() const = 0;
};

/// One object opened for many ranged reads (a search reading a few column chunks of each row
/// group), so that each read does not look the object up again as GetRange does. A local
/// file's reader keeps reading the bytes the object had when it was opened, even after a Put
/// replaces it or a Delete removes it; the default reader (other stores) reads the object's
/// current bytes with GetRange. Thread-safe.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  /// The object's size when it was opened.
  virtual uint64_t size() const = 0;
  /// Fills `out` with bytes [offset, offset + out.size()). InvalidArgument past size(); the
  /// store's error otherwise.
  virtual Status ReadAt(uint64_t offset, std::span<char> out) = 0;
  /// The whole object in memory when the reader maps it (the local store), so that callers may
  /// take views instead of copies; empty otherwise. Valid while the reader lives.
  virtual std::string_view Mapped() const { return {}; }
};

/// A flat namespace of immutable-once-written byte strings. Keys are '/'-separated relative
/// paths such as "tenant/blockid/meta.json" (see ValidateKey); every method rejects an invalid
/// key with InvalidArgument before doing anything else.
///
/// Every implementation is thread-safe: any method may be called from any thread.
///
/// A key cannot name both an object and a "directory" of other objects: Put("a") fails with
/// FailedPrecondition while "a/b" exists, and Put("a/b") while "a" exists. S3 would allow both;
/// the local store cannot, and the memory store mirrors it so that tests see the same behaviour.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  /// The whole object. NotFound if absent.
  virtual Result<std::string> Get(std::string_view key) = 0;

  /// Bytes [offset, offset + length) of the object. NotFound if absent. InvalidArgument unless
  /// offset + length <= size (a zero length is fine at any offset <= size and returns "").
  /// S3 is laxer (416 only when offset >= size, a truncated body when only the end is past it);
  /// being strict makes a reader that computed a range from an index notice a truncated object
  /// instead of silently getting fewer bytes. An S3 implementation must check the returned
  /// Content-Range to give the same answer.
  virtual Result<std::string> GetRange(std::string_view key, uint64_t offset,
                                       uint64_t length) = 0;

  /// Size of the object in bytes (HEAD). NotFound if absent.
  virtual Result<uint64_t> Size(std::string_view key) = 0;

  /// Creates or replaces the object. Atomic: a concurrent or later reader sees either no object
  /// or the old one, or the whole new one, never a mix or a prefix. Durable when it returns OK
  /// (the local store writes a temporary file, fdatasyncs it, renames it over the key and fsyncs
  /// the directory). After an error the object is either unchanged or wholly replaced.
  virtual Status Put(std::string_view key, std::string_view data) = 0;

  /// Every object whose key starts with `prefix` ("" lists everything), sorted by key as
  /// unsigned bytes, like S3 ListObjectsV2 without a delimiter. `prefix` need not be a valid
  /// key ("tenant/" and "ten" are fine). Objects put or deleted concurrently may or may not be
  /// included.
  virtual Result<std::vector<ObjectInfo>> List(std::string_view prefix) = 0;

  /// Removes the object. Deleting an absent key is OK (as in S3). Durable when it returns OK.
  virtual Status Delete(std::string_view key) = 0;

  /// A writer for the object `key`. The default buffers the pieces in memory and Puts them at
  /// Commit; stores that can stream (the local store) override it.
  virtual Result<std::unique_ptr<ObjectWriter>> NewWriter(std::string_view key);

  /// A reader of the object `key`. NotFound if absent. The default reads through Size and
  /// GetRange; the local store keeps the file open.
  virtual Result<std::unique_ptr<ObjectReader>> OpenReader(std::string_view key);

  /// Human-readable, for logs: "local:/path", "memory".
  virtual std::string Describe() const = 0;
};

/// OK for a key every store accepts, otherwise InvalidArgument naming the (escaped) key. Rejects:
/// empty keys; keys longer than kMaxKeyBytes; a leading '/'; empty segments ("a//b", "a/");
/// "." and ".." segments; NUL bytes; backslashes; segments longer than kMaxKeySegmentBytes; and a
/// last segment that looks like a local-store temporary ("<name>.tmp.<16 lowercase hex digits>"),
/// which is reserved so that List and CleanupTemporaries can never mistake an object for one.
Status ValidateKey(std::string_view key);

/// A store held in memory, for tests. Describe() is "memory".
std::unique_ptr<ObjectStore> NewMemoryStore();

/// A store on the local directory `root` (created with missing parents if absent), one file per
/// object at "<root>/<key>". Temporary files are "<key>.tmp.<16 hex digits>": List ignores them
/// and LocalStore::CleanupTemporaries() removes those a crash left behind. Use LocalStore::Open
/// (local_store.h) to get at CleanupTemporaries. Describe() is "local:<root>".
Result<std::unique_ptr<ObjectStore>> NewLocalStore(std::string root);

}  // namespace vivace::io
