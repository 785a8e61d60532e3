#include "wal/wal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <future>
#include <utility>

#include <fmt/format.h>

#include "base/coding.h"
#include "base/crc32c.h"
#include "base/logging.h"
#include "wal/internal/format.h"
#include "wal/internal/replay.h"

namespace vivace::wal {
namespace {

// A batch buffer that grew past this is released after use instead of being kept for reuse.
constexpr size_t kMaxRetainedBatchBytes = 16 << 20;

Status ValidateOptions(const Options& opts) {
  if (opts.dir.empty()) return InvalidArgument("wal: Options::dir is empty");
  if (opts.max_record_bytes == 0 || opts.max_record_bytes > kMaxRecordBytesLimit) {
    return InvalidArgument("wal: Options::max_record_bytes must be in [1, 1 GiB]");
  }
  if (opts.segment_bytes == 0) return InvalidArgument("wal: Options::segment_bytes is 0");
  if (opts.sync == SyncPolicy::kInterval && opts.sync_interval.count() <= 0) {
    return InvalidArgument("wal: Options::sync_interval must be positive");
  }
  return Status::OK();
}

}  // namespace

Wal::Wal(Options opts) : opts_(std::move(opts)) {}

Wal::~Wal() { Close(); }

Result<std::unique_ptr<Wal>> Wal::Open(Options opts, const ReplayCallback& replay) {
  VV_RETURN_IF_ERROR(ValidateOptions(opts));
  if (!replay) return InvalidArgument("wal: no replay callback");
  VV_RETURN_IF_ERROR(internal::CreateDirs(opts.dir));
  // The constructor is private; make_unique cannot reach it.
  std::unique_ptr<Wal> wal(new Wal(std::move(opts)));
  const Options& o = wal->opts_;
  VV_ASSIGN_OR_RETURN(wal->dir_fd_, internal::OpenFile(o.dir, O_RDONLY | O_DIRECTORY));
  if (::flock(wal->dir_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return FailedPrecondition("wal: directory " + o.dir + " is in use by another Wal");
    }
    return IoError("flock " + o.dir, errno);
  }
  VV_ASSIGN_OR_RETURN(internal::ReplayOutcome outcome,
                      internal::ReplayDir(o, wal->dir_fd_.get(), replay));
  wal->replay_stats_ = outcome.stats;
  VV_RETURN_IF_ERROR(wal->OpenSegment(outcome.last_segment + 1));
  wal->last_sync_ = std::chrono::steady_clock::now();
  wal->writer_ = std::thread([w = wal.get()] { w->WriterLoop(); });
  return wal;
}

Status Wal::OpenSegment(uint64_t segment) {
  // Written under a temporary name and renamed, so that a `.wal` file always has a complete
  // header; replay removes `.tmp` leftovers.
  std::string path = opts_.dir + "/" + internal::SegmentFileName(segment);
  std::string tmp = path + ".tmp";
  bool sync = opts_.sync != SyncPolicy::kNone;
  VV_ASSIGN_OR_RETURN(internal::Fd fd, internal::OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC));
  std::string header = internal::EncodeSegmentHeader(segment);
  VV_RETURN_IF_ERROR(internal::WriteAll(fd.get(), header, tmp));
  if (sync) VV_RETURN_IF_ERROR(internal::SyncData(fd.get(), tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return IoError("rename " + tmp, errno);
  if (sync) VV_RETURN_IF_ERROR(internal::SyncDir(dir_fd_.get(), opts_.dir));

  if (seg_fd_.valid()) {
    Status s = seg_fd_.Close();
    if (!s.ok()) log::Warn("wal: closing {}: {}", seg_path_, s.ToString());
  }
  seg_fd_ = std::move(fd);
  seg_path_ = std::move(path);
  seg_bytes_ = header.size();
  seg_has_records_ = false;
  unsynced_ = false;
  current_segment_.store(segment, std::memory_order_release);
  return Status::OK();
}

void Wal::Append(std::string_view payload, AppendCallback done) {
  Append(std::span<const std::string_view>(&payload, 1), std::move(done));
}

void Wal::Append(std::span<const std::string_view> pieces, AppendCallback done) {
  size_t length = 0;
  for (std::string_view p : pieces) length += p.size();
  Status reject;
  uint32_t crc = 0;
  if (length > opts_.max_record_bytes) {
    reject = InvalidArgument("wal: record of " + std::to_string(length) +
                             " bytes exceeds max_record_bytes " +
                             std::to_string(opts_.max_record_bytes));
  } else {
    crc = internal::RecordCrc(internal::RecordType::kFull, pieces);  // outside the lock
  }
  {
    MutexLock l(mu_);
    if (!closing_) {
      if (reject.ok() && !error_.ok()) reject = error_;
      uint64_t queue_offset = queued_.size();
      if (reject.ok()) {
        char header[internal::kRecordHeaderSize];
        internal::EncodeRecordHeader(header, static_cast<uint32_t>(length), crc,
                                     internal::RecordType::kFull);
        queued_.append(header, sizeof(header));
        for (std::string_view p : pieces) queued_.append(p);
      }
      // The writer waits for a non-empty queue; only the first entry needs to wake it.
      if (pending_.empty()) work_cv_.NotifyOne();
      pending_.push_back({std::move(done), std::move(reject), queue_offset, static_cast<uint32_t>(length)});
      return;
    }
  }
  done(FailedPrecondition("wal: Append after Close"), RecordLocation{});
}

Status Wal::AppendSync(std::string_view payload) {
  std::promise<Status> result;
  std::future<Status> future = result.get_future();
  Append(payload, [&result](Status s, RecordLocation) { result.set_value(std::move(s)); });
  return future.get();
}

Result<uint64_t> Wal::Roll() {
  MutexLock l(mu_);
  if (closing_) return FailedPrecondition("wal: Roll after Close");
  if (!error_.ok()) return error_;
  uint64_t ticket = ++rolls_requested_;
  work_cv_.NotifyOne();
  done_cv_.Wait(mu_, [&]() VV_REQUIRES(mu_) { return rolls_done_ >= ticket; });
  if (!roll_status_.ok()) return roll_status_;
  return roll_segment_;
}

Result<std::string> Wal::Read(const RecordLocation& where) const {
  std::string path = opts_.dir + "/" + internal::SegmentFileName(where.segment);
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("wal: segment " + path + " no longer exists");
    return IoError("open " + path, errno);
  }
  internal::Fd owned(fd);
  std::string record;
  VV_RETURN_IF_ERROR(internal::ReadAt(fd, where.offset, internal::kRecordHeaderSize + where.length, &record, path));
  auto corrupt = [&](std::string_view why) {
    return DataLoss(fmt::format("wal: record at offset {} of {}: {}", where.offset, path, why));
  };
  if (record.size() != internal::kRecordHeaderSize + where.length) return corrupt("file ends inside the record");
  if (DecodeFixed32(record.data()) != where.length) return corrupt("length does not match");
  if (static_cast<internal::RecordType>(static_cast<uint8_t>(record[8])) != internal::RecordType::kFull) {
    return corrupt("not a full record");
  }
  std::string_view typed = std::string_view(record).substr(internal::kRecordHeaderSize - 1);
  if (crc32c::Value(typed) != crc32c::Unmask(DecodeFixed32(record.data() + 4))) return corrupt("checksum mismatch");
  record.erase(0, internal::kRecordHeaderSize);
  return record;
}

Status Wal::DeleteSegmentsBefore(uint64_t segment) {
  MutexLock cl(close_mu_);
  if (closed_) return FailedPrecondition("wal: DeleteSegmentsBefore after Close");
  uint64_t limit = std::min(segment, current_segment());
  VV_ASSIGN_OR_RETURN(std::vector<std::string> names, internal::ListDir(opts_.dir));
  bool deleted = false;
  for (const std::string& name : names) {
    std::optional<uint64_t> n = internal::ParseSegmentFileName(name);
    if (!n || *n >= limit) continue;
    std::string path = opts_.dir + "/" + name;
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) continue;
      return IoError("unlink " + path, errno);
    }
    deleted = true;
  }
  if (deleted && opts_.sync != SyncPolicy::kNone) {
    VV_RETURN_IF_ERROR(internal::SyncDir(dir_fd_.get(), opts_.dir));
  }
  return Status::OK();
}

void Wal::Close() {
  MutexLock cl(close_mu_);
  if (closed_) return;
  {
    MutexLock l(mu_);
    closing_ = true;
    work_cv_.NotifyOne();
  }
  if (writer_.joinable()) writer_.join();
  Status s = seg_fd_.Close();
  if (!s.ok()) log::Warn("wal: closing {}: {}", seg_path_, s.ToString());
  dir_fd_.Close().IgnoreError();  // releases the directory lock
  closed_ = true;
}

void Wal::Fail(const Status& s) {
  log::Error("wal: I/O error, failing this and every later append until reopened: {}",
             s.ToString());
  MutexLock l(mu_);
  if (error_.ok()) error_ = Status(StatusCode::kUnavailable, "wal failed: " + s.ToString());
}

Status Wal::SyncCurrent() {
  if (opts_.sync == SyncPolicy::kNone || !unsynced_) return Status::OK();
  // Cleared first: after a failed fdatasync the state of the data is unknown and retrying
  // could report success for lost writes, so the WAL fails instead of syncing again.
  unsynced_ = false;
  VV_RETURN_IF_ERROR(internal::SyncData(seg_fd_.get(), seg_path_));
  syncs_.fetch_add(1, std::memory_order_relaxed);
  last_sync_ = std::chrono::steady_clock::now();
  return Status::OK();
}

Status Wal::DoRoll() {
  if (!seg_has_records_) return Status::OK();
  VV_RETURN_IF_ERROR(SyncCurrent());
  return OpenSegment(current_segment() + 1);
}

Result<uint64_t> Wal::WriteBatch(const std::string& batch) {
  if (seg_bytes_ >= opts_.segment_bytes) VV_RETURN_IF_ERROR(DoRoll());
  batches_.fetch_add(1, std::memory_order_relaxed);
  unsynced_ = true;
  uint64_t base = seg_bytes_;
  VV_RETURN_IF_ERROR(internal::WriteAll(seg_fd_.get(), batch, seg_path_));
  seg_bytes_ += batch.size();
  seg_has_records_ = true;
  if (opts_.sync == SyncPolicy::kAlways) VV_RETURN_IF_ERROR(SyncCurrent());
  return base;
}

void Wal::WriterLoop() {
  std::string batch;
  std::vector<Pending> pending;
  uint64_t rolls_seen = 0;
  for (;;) {
    uint64_t roll_ticket;
    bool closing;
    Status error;
    {
      MutexLock l(mu_);
      auto has_work = [&]() VV_REQUIRES(mu_) {
        return !pending_.empty() || rolls_requested_ > rolls_seen || closing_;
      };
      if (opts_.sync == SyncPolicy::kInterval && unsynced_) {
        auto wait = last_sync_ + opts_.sync_interval - std::chrono::steady_clock::now();
        if (wait > wait.zero()) work_cv_.WaitFor(mu_, wait, has_work);
      } else {
        work_cv_.Wait(mu_, has_work);
      }
      batch.swap(queued_);
      pending.swap(pending_);
      roll_ticket = rolls_requested_;
      closing = closing_;
      error = error_;
    }

    Status s = std::move(error);
    uint64_t base = 0;
    if (s.ok() && !batch.empty()) {
      Result<uint64_t> written = WriteBatch(batch);
      if (written.ok()) {
        base = *written;
      } else {
        s = written.status();
        Fail(s);
      }
    }
    uint64_t segment = current_segment();
    for (Pending& p : pending) {
      if (!p.status.ok()) {
        p.done(std::move(p.status), RecordLocation{});
      } else if (!s.ok()) {
        p.done(s, RecordLocation{});
      } else {
        p.done(s, RecordLocation{segment, base + p.queue_offset, p.length});
      }
    }
    pending.clear();
    batch.clear();
    if (batch.capacity() > kMaxRetainedBatchBytes) std::string().swap(batch);

    if (opts_.sync == SyncPolicy::kInterval && unsynced_ &&
        std::chrono::steady_clock::now() >= last_sync_ + opts_.sync_interval) {
      Status ss = SyncCurrent();
      if (!ss.ok()) Fail(ss);
    }
    if (roll_ticket > rolls_seen) {
      rolls_seen = roll_ticket;
      Status rs;
      {
        MutexLock l(mu_);
        rs = error_;
      }
      if (rs.ok()) {
        rs = DoRoll();
        if (!rs.ok()) Fail(rs);
      }
      MutexLock l(mu_);
      rolls_done_ = roll_ticket;
      roll_status_ = std::move(rs);
      roll_segment_ = current_segment();
      done_cv_.NotifyAll();
    }
    if (closing) {
      // Append and Roll refuse work once closing_ is set, so nothing can be queued after the
      // batch taken above.
      Status ss = SyncCurrent();
      if (!ss.ok()) Fail(ss);
      return;
    }
  }
}

}  // namespace vivace::wal
