#include "wal/internal/replay.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/coding.h"
#include "base/crc32c.h"
#include "base/logging.h"
#include "wal/internal/file.h"
#include "wal/internal/format.h"

namespace vivace::wal::internal {
namespace {

constexpr size_t kReadChunk = 1 << 20;
constexpr std::string_view kCorruptSuffix = ".corrupt";
constexpr std::string_view kTmpSuffix = ".tmp";

// Buffered positional reads of one segment file. The returned views point into the reader's
// buffer and are valid until the next Read.
class SegmentReader {
 public:
  SegmentReader(int fd, uint64_t size, std::string_view path) : fd_(fd), size_(size), path_(path) {}

  // Exactly `n` bytes at `offset`. REQUIRES: offset + n <= size.
  Result<std::string_view> Read(uint64_t offset, size_t n) {
    if (offset < buf_offset_ || offset + n > buf_offset_ + buf_.size()) {
      size_t want =
          static_cast<size_t>(std::min<uint64_t>(std::max(n, kReadChunk), size_ - offset));
      VV_RETURN_IF_ERROR(ReadAt(fd_, offset, want, &buf_, path_));
      buf_offset_ = offset;
      if (buf_.size() < n) {
        return Internal("segment " + std::string(path_) + " shrank while being replayed");
      }
    }
    return std::string_view(buf_).substr(offset - buf_offset_, n);
  }

 private:
  int fd_;
  uint64_t size_;
  std::string_view path_;
  std::string buf_;
  uint64_t buf_offset_ = 0;
};

struct SegmentFile {
  uint64_t number;
  std::string path;
};

class DirReplayer {
 public:
  DirReplayer(const Options& opts, int dir_fd, const ReplayCallback& replay)
      : opts_(opts), dir_fd_(dir_fd), replay_(replay) {}

  Result<ReplayOutcome> Run() {
    VV_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(opts_.dir));
    std::vector<SegmentFile> segments;
    for (const std::string& name : names) {
      std::string_view n = name;
      if (auto seg = ParseSegmentFileName(n)) {
        segments.push_back({*seg, opts_.dir + "/" + name});
        Note(*seg);
      } else if (n.ends_with(kCorruptSuffix)) {
        if (auto s = ParseSegmentFileName(n.substr(0, n.size() - kCorruptSuffix.size()))) Note(*s);
      } else if (n.ends_with(kTmpSuffix)) {
        // A segment whose creation was interrupted before its rename: it holds no record.
        if (auto s = ParseSegmentFileName(n.substr(0, n.size() - kTmpSuffix.size()))) {
          Note(*s);
          std::string path = opts_.dir + "/" + name;
          log::Warn("wal: removing unfinished segment file {}", path);
          if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
            return IoError("unlink " + path, errno);
          }
          dir_changed_ = true;
        }
      }
    }
    std::sort(segments.begin(), segments.end(),
              [](const SegmentFile& a, const SegmentFile& b) { return a.number < b.number; });
    for (size_t i = 0; i < segments.size(); ++i) {
      VV_RETURN_IF_ERROR(ReplaySegment(segments[i], i + 1 == segments.size()));
    }
    if (dir_changed_ && opts_.sync != SyncPolicy::kNone) {
      VV_RETURN_IF_ERROR(SyncDir(dir_fd_, opts_.dir));
    }
    return out_;
  }

 private:
  void Note(uint64_t segment) { out_.last_segment = std::max(out_.last_segment, segment); }

  Status ReplaySegment(const SegmentFile& seg, bool last) {
    VV_ASSIGN_OR_RETURN(Fd fd, OpenFile(seg.path, O_RDWR));
    VV_ASSIGN_OR_RETURN(uint64_t size, FileSize(fd.get(), seg.path));
    SegmentReader reader(fd.get(), size, seg.path);

    std::optional<std::string> bad_header;
    if (size < kSegmentHeaderSize) {
      bad_header = "shorter than a segment header";
    } else {
      VV_ASSIGN_OR_RETURN(std::string_view header, reader.Read(0, kSegmentHeaderSize));
      bad_header = CheckSegmentHeader(header, seg.number);
    }
    if (bad_header) {
      std::string target = seg.path + std::string(kCorruptSuffix);
      log::Warn("wal: segment {} has a bad header ({}); renaming it to {} and skipping it",
                seg.path, *bad_header, target);
      if (::rename(seg.path.c_str(), target.c_str()) != 0) {
        return IoError("rename " + seg.path, errno);
      }
      dir_changed_ = true;
      ++out_.stats.corrupt_segments;
      return Status::OK();
    }
    ++out_.stats.segments;

    uint64_t offset = kSegmentHeaderSize;
    while (offset < size) {
      uint64_t remaining = size - offset;
      if (remaining < kRecordHeaderSize) {
        return Cut(fd.get(), seg.path, size, offset, "torn record header");
      }
      VV_ASSIGN_OR_RETURN(std::string_view header, reader.Read(offset, kRecordHeaderSize));
      uint32_t length = DecodeFixed32(header.data());
      uint32_t stored_crc = crc32c::Unmask(DecodeFixed32(header.data() + 4));
      auto type = static_cast<RecordType>(static_cast<uint8_t>(header[8]));
      uint64_t end = offset + kRecordHeaderSize + length;  // no overflow: length < 2^32

      std::string reason;
      if (end > size) {
        return Cut(fd.get(), seg.path, size, offset, "record extends past the end of the file");
      } else if (length > opts_.max_record_bytes) {
        reason = "record length " + std::to_string(length) + " exceeds max_record_bytes";
      } else {
        // Re-read the header with the payload so both views come from one buffer fill.
        VV_ASSIGN_OR_RETURN(std::string_view record,
                            reader.Read(offset, kRecordHeaderSize + length));
        std::string_view typed = record.substr(kRecordHeaderSize - 1);  // type byte + payload
        if (crc32c::Value(typed) != stored_crc) {
          reason = "checksum mismatch";
        } else if (type != RecordType::kFull) {
          reason = "unknown record type " + std::to_string(static_cast<int>(type));
        } else {
          std::string_view payload = typed.substr(1);
          Status s = replay_(RecordLocation{seg.number, offset, length}, payload);
          if (!s.ok()) return s.WithContext("wal replay of " + seg.path);
          ++out_.stats.records;
          out_.stats.bytes += payload.size();
          offset = end;
          continue;
        }
      }
      // A bad record. At the end of a file, or anywhere in the last segment, it is what a crash
      // leaves behind: cut it. In the middle of an older segment it is real damage: keep the
      // file for inspection and go on with the next segment.
      VV_ASSIGN_OR_RETURN(bool rest_zero, RestIsZero(reader, offset, size));
      if (last || end == size || rest_zero) return Cut(fd.get(), seg.path, size, offset, reason);
      log::Warn(
          "wal: corrupt record in {} at offset {} ({}); skipping the remaining {} bytes of "
          "this segment",
          seg.path, offset, reason, size - offset);
      ++out_.stats.corrupt_segments;
      return Status::OK();
    }
    return Status::OK();
  }

  static Result<bool> RestIsZero(SegmentReader& reader, uint64_t offset, uint64_t size) {
    while (offset < size) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kReadChunk, size - offset));
      VV_ASSIGN_OR_RETURN(std::string_view chunk, reader.Read(offset, n));
      if (chunk.find_first_not_of('\0') != std::string_view::npos) return false;
      offset += n;
    }
    return true;
  }

  Status Cut(int fd, const std::string& path, uint64_t size, uint64_t offset,
             std::string_view reason) {
    log::Warn("wal: truncating {} at offset {} ({}); dropping {} bytes", path, offset, reason,
              size - offset);
    if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) {
      return IoError("ftruncate " + path, errno);
    }
    if (opts_.sync != SyncPolicy::kNone && ::fsync(fd) != 0) return IoError("fsync " + path, errno);
    out_.stats.truncated_bytes += size - offset;
    return Status::OK();
  }

  const Options& opts_;
  int dir_fd_;
  const ReplayCallback& replay_;
  ReplayOutcome out_;
  bool dir_changed_ = false;
};

}  // namespace

Result<ReplayOutcome> ReplayDir(const Options& opts, int dir_fd, const ReplayCallback& replay) {
  return DirReplayer(opts, dir_fd, replay).Run();
}

}  // namespace vivace::wal::internal
