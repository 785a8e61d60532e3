#pragma once
// A std::mutex the compiler can reason about: clang's -Wthread-safety checks VV_GUARDED_BY.

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define VV_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define VV_THREAD_ANNOTATION(x)
#endif

#define VV_CAPABILITY(x) VV_THREAD_ANNOTATION(capability(x))
#define VV_SCOPED_CAPABILITY VV_THREAD_ANNOTATION(scoped_lockable)
#define VV_GUARDED_BY(x) VV_THREAD_ANNOTATION(guarded_by(x))
#define VV_REQUIRES(...) VV_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define VV_ACQUIRE(...) VV_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define VV_RELEASE(...) VV_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define VV_EXCLUDES(...) VV_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

namespace vivace {

class VV_CAPABILITY("mutex") Mutex {
 public:
  void Lock() VV_ACQUIRE() { mu_.lock(); }
  void Unlock() VV_RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

class VV_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) VV_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() VV_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

/// Condition variable bound to a Mutex. REQUIRES: the mutex is held when waiting.
class CondVar {
 public:
  template <typename Pred>
  void Wait(Mutex& mu, Pred pred) {
    std::unique_lock<std::mutex> lock(mu.native(), std::adopt_lock);
    cv_.wait(lock, pred);
    lock.release();
  }
  template <typename Duration, typename Pred>
  bool WaitFor(Mutex& mu, Duration d, Pred pred) {
    std::unique_lock<std::mutex> lock(mu.native(), std::adopt_lock);
    bool r = cv_.wait_for(lock, d, pred);
    lock.release();
    return r;
  }
  void NotifyAll() { cv_.notify_all(); }
  void NotifyOne() { cv_.notify_one(); }

 private:
  std::condition_variable cv_;
};

}  // namespace vivace
