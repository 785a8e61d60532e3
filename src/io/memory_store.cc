// NewMemoryStore: a std::map behind a mutex. Values are shared immutable strings, so readers
// copy them outside the lock and a Put replaces a value without disturbing readers of the old
// one.

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "base/mutex.h"
#include "io/internal/common.h"
#include "io/object_store.h"

namespace vivace::io {
namespace {

class MemoryStore final : public ObjectStore {
 public:
  Result<std::string> Get(std::string_view key) override {
    VV_ASSIGN_OR_RETURN(std::shared_ptr<const std::string> value, Find(key));
    return *value;
  }

  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override {
    VV_ASSIGN_OR_RETURN(std::shared_ptr<const std::string> value, Find(key));
    VV_RETURN_IF_ERROR(internal::CheckRange(key, offset, length, value->size()));
    return value->substr(offset, length);
  }

  Result<uint64_t> Size(std::string_view key) override {
    VV_ASSIGN_OR_RETURN(std::shared_ptr<const std::string> value, Find(key));
    return static_cast<uint64_t>(value->size());
  }

  Status Put(std::string_view key, std::string_view data) override {
    VV_RETURN_IF_ERROR(ValidateKey(key));
    auto value = std::make_shared<const std::string>(data);
    std::shared_ptr<const std::string> old;  // freed outside the lock
    MutexLock lock(mu_);
    // The same "file vs. directory" conflicts the local store has (see ObjectStore).
    for (size_t slash = key.find('/'); slash != std::string_view::npos;
         slash = key.find('/', slash + 1)) {
      if (objects_.find(key.substr(0, slash)) != objects_.end()) {
        return FailedPrecondition("cannot put " + internal::QuoteKey(key) + ": object " +
                                  internal::QuoteKey(key.substr(0, slash)) + " exists");
      }
    }
    std::string dir = std::string(key) + "/";
    auto below = objects_.lower_bound(dir);
    if (below != objects_.end() && below->first.starts_with(dir)) {
      return FailedPrecondition("cannot put " + internal::QuoteKey(key) + ": object " +
                                internal::QuoteKey(below->first) + " exists below it");
    }
    auto it = objects_.find(key);
    if (it == objects_.end()) {
      objects_.emplace(std::string(key), std::move(value));
    } else {
      old = std::exchange(it->second, std::move(value));
    }
    return Status::OK();
  }

  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    std::vector<ObjectInfo> out;
    MutexLock lock(mu_);
    for (auto it = objects_.lower_bound(prefix); it != objects_.end(); ++it) {
      if (!it->first.starts_with(prefix)) break;
      out.push_back(ObjectInfo{it->first, it->second->size()});
    }
    return out;
  }

  Status Delete(std::string_view key) override {
    VV_RETURN_IF_ERROR(ValidateKey(key));
    std::shared_ptr<const std::string> old;  // freed outside the lock
    MutexLock lock(mu_);
    auto it = objects_.find(key);
    if (it != objects_.end()) {
      old = std::move(it->second);
      objects_.erase(it);
    }
    return Status::OK();
  }

  std::string Describe() const override { return "memory"; }

 private:
  Result<std::shared_ptr<const std::string>> Find(std::string_view key) {
    VV_RETURN_IF_ERROR(ValidateKey(key));
    MutexLock lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return internal::ObjectNotFound(key);
    return it->second;
  }

  Mutex mu_;
  std::map<std::string, std::shared_ptr<const std::string>, std::less<>> objects_
      VV_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<ObjectStore> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace vivace::io
