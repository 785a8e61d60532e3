#include "io/object_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <thread>
#include <vector>

#include "io/fault_store.h"
#include "io/internal/test_util.h"
#include "io/local_store.h"

namespace vivace::io {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::TestBytes;

std::vector<std::string> Keys(const std::vector<ObjectInfo>& infos) {
  std::vector<std::string> keys;
  for (const ObjectInfo& info : infos) keys.push_back(info.key);
  return keys;
}

// Every file and directory under `root`, relative, directories with a trailing '/', sorted.
std::vector<std::string> Tree(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = fs::relative(e.path(), root).generic_string();
    out.push_back(e.is_directory() ? rel + "/" : rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, std::string_view data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// ---------------------------------------------------------------------------------------------
// ValidateKey

TEST(ValidateKeyTest, AcceptsRelativeSlashSeparatedKeys) {
  for (std::string key : {"a", "tenant/blockid/meta.json", "a.b", "..a", "a..", ".hidden", "a/.b/c",
                          "x.tmp.0123", "x.tmp.0123456789ABCDEF", "x.tmp.0123456789abcdeg",
                          ".tmp.0123456789abcdef", "sp ace/\xc3\xa9\x01"}) {
    EXPECT_TRUE(ValidateKey(key).ok()) << key << ": " << ValidateKey(key).ToString();
  }
  std::string longest_segment(kMaxKeySegmentBytes, 's');
  EXPECT_TRUE(ValidateKey(longest_segment).ok());
  std::string longest_key;
  while (longest_key.size() + 101 <= kMaxKeyBytes) longest_key += std::string(100, 'k') + "/";
  longest_key += std::string(kMaxKeyBytes - longest_key.size(), 'z');
  ASSERT_EQ(longest_key.size(), kMaxKeyBytes);
  EXPECT_TRUE(ValidateKey(longest_key).ok()) << ValidateKey(longest_key).ToString();
}

TEST(ValidateKeyTest, RejectsWithInvalidArgumentNamingTheKey) {
  struct Case {
    std::string key;
    std::string quoted;  // how the message must name it
  };
  std::vector<Case> cases = {
      {"", "\"\""},
      {"/a", "\"/a\""},
      {"a/", "\"a/\""},
      {"a//b", "\"a//b\""},
      {".", "\".\""},
      {"..", "\"..\""},
      {"a/./b", "\"a/./b\""},
      {"a/../b", "\"a/../b\""},
      {"../a", "\"../a\""},
      {"a/..", "\"a/..\""},
      {"a\\b", "\"a\\\\b\""},
      {std::string("a\0b", 3), "\"a\\x00b\""},
      {"a/" + std::string(kMaxKeySegmentBytes + 1, 's'), "\"a/sss"},
      {"x.tmp.0123456789abcdef", "\"x.tmp.0123456789abcdef\""},
      {"d/x.tmp.0123456789abcdef", "\"d/x.tmp.0123456789abcdef\""},
  };
  std::string too_long;
  while (too_long.size() <= kMaxKeyBytes) too_long += "kkkkkkkk/";
  cases.push_back({too_long, "\"kkkkkkkk/"});
  for (const Case& c : cases) {
    Status s = ValidateKey(c.key);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.quoted << ": " << s.ToString();
    EXPECT_NE(s.message().find(c.quoted), std::string_view::npos) << s.ToString();
  }
}

// ---------------------------------------------------------------------------------------------
// The contract, for every implementation.

enum class Kind { kMemory, kLocal, kFaultyMemory };

std::string KindName(Kind kind) {
  switch (kind) {
    case Kind::kMemory: return "Memory";
    case Kind::kLocal: return "Local";
    case Kind::kFaultyMemory: return "FaultyMemoryWithEmptyPlan";
  }
  return "?";
}
std::string ParamName(const ::testing::TestParamInfo<Kind>& info) { return KindName(info.param); }
void PrintTo(Kind kind, std::ostream* os) { *os << KindName(kind); }

class ObjectStoreTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case Kind::kMemory:
        store_ = NewMemoryStore();
        break;
      case Kind::kLocal: {
        auto r = NewLocalStore(root());
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        store_ = std::move(r).value();
        break;
      }
      case Kind::kFaultyMemory:
        inner_ = NewMemoryStore();
        store_ = std::make_unique<FaultInjectingStore>(inner_.get());
        break;
    }
  }

  bool local() const { return GetParam() == Kind::kLocal; }
  std::string root() const { return tmp_.path() + "/store"; }

  TempDir tmp_;
  std::unique_ptr<ObjectStore> inner_;
  std::unique_ptr<ObjectStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Stores, ObjectStoreTest,
                         ::testing::Values(Kind::kMemory, Kind::kLocal, Kind::kFaultyMemory),
                         ParamName);

TEST_P(ObjectStoreTest, PutThenGetRoundTripsBinaryData) {
  const std::vector<std::pair<std::string, std::string>> objects = {
      {"a", "hello"},
      {"tenant/blockid/meta.json", "{\"v\":1}"},
      {"tenant/blockid/data", TestBytes(1 << 20, 1)},
      {"tenant/blockid/nul", std::string("\0\xff\0", 3)},
      {"empty", ""},
  };
  for (const auto& [key, data] : objects) VV_ASSERT_OK(store_->Put(key, data));
  for (const auto& [key, data] : objects) {
    auto got = store_->Get(key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status().ToString();
    EXPECT_TRUE(*got == data) << key << ": got " << got->size() << " bytes, want " << data.size();
    auto size = store_->Size(key);
    ASSERT_TRUE(size.ok()) << key << ": " << size.status().ToString();
    EXPECT_EQ(*size, data.size()) << key;
  }
}

TEST_P(ObjectStoreTest, AbsentObjectsAreNotFound) {
  VV_ASSERT_OK(store_->Put("tenant/block/meta.json", "x"));
  // "tenant" and "tenant/block" are directories of the local store, not objects.
  for (std::string key : {"nope", "tenant", "tenant/block", "tenant/block/meta.json/x",
                          "tenant/other/meta.json"}) {
    auto get = store_->Get(key);
    EXPECT_EQ(get.status().code(), StatusCode::kNotFound) << key << ": " << get.status().ToString();
    EXPECT_NE(get.status().message().find(key), std::string_view::npos) << get.status().ToString();
    EXPECT_EQ(store_->GetRange(key, 0, 0).status().code(), StatusCode::kNotFound) << key;
    EXPECT_EQ(store_->Size(key).status().code(), StatusCode::kNotFound) << key;
  }
}

TEST_P(ObjectStoreTest, PutReplacesTheWholeObject) {
  VV_ASSERT_OK(store_->Put("k", "a long first value"));
  VV_ASSERT_OK(store_->Put("k", "short"));
  EXPECT_EQ(store_->Get("k").value(), "short");
  EXPECT_EQ(store_->Size("k").value(), 5u);
  VV_ASSERT_OK(store_->Put("k", "and a longer one again"));
  EXPECT_EQ(store_->Get("k").value(), "and a longer one again");
  VV_ASSERT_OK(store_->Put("k", ""));
  EXPECT_EQ(store_->Get("k").value(), "");
  EXPECT_EQ(store_->Size("k").value(), 0u);
  auto listed = store_->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(*listed, (std::vector<ObjectInfo>{{"k", 0}}));
}

TEST_P(ObjectStoreTest, GetRangeReturnsExactlyTheRangeOrRejectsIt) {
  VV_ASSERT_OK(store_->Put("d/k", "0123456789"));
  struct Ok {
    uint64_t offset, length;
    std::string want;
  };
  for (const Ok& c : std::vector<Ok>{{0, 10, "0123456789"}, {3, 4, "3456"}, {9, 1, "9"},
                                     {0, 0, ""}, {5, 0, ""}, {10, 0, ""}, {0, 1, "0"}}) {
    auto got = store_->GetRange("d/k", c.offset, c.length);
    ASSERT_TRUE(got.ok()) << c.offset << "+" << c.length << ": " << got.status().ToString();
    EXPECT_EQ(*got, c.want) << c.offset << "+" << c.length;
  }
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (auto [offset, length] : std::vector<std::pair<uint64_t, uint64_t>>{
           {9, 2}, {10, 1}, {11, 0}, {0, 11}, {kMax, 1}, {1, kMax}, {kMax, kMax}, {kMax, 0}}) {
    auto got = store_->GetRange("d/k", offset, length);
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument)
        << offset << "+" << length << ": " << got.status().ToString();
    EXPECT_NE(got.status().message().find("\"d/k\""), std::string_view::npos);
  }
  VV_ASSERT_OK(store_->Put("empty", ""));
  EXPECT_EQ(store_->GetRange("empty", 0, 0).value(), "");
  EXPECT_EQ(store_->GetRange("empty", 0, 1).status().code(), StatusCode::kInvalidArgument);

  std::string big = TestBytes(3 << 20, 7);
  VV_ASSERT_OK(store_->Put("big", big));
  auto tail = store_->GetRange("big", big.size() - 100000, 100000);
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_TRUE(*tail == big.substr(big.size() - 100000));
}

TEST_P(ObjectStoreTest, ReaderReadsRangesAndRejectsThosePastTheEnd) {
  EXPECT_EQ(store_->OpenReader("d/none").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->OpenReader("/bad").status().code(), StatusCode::kInvalidArgument);
  std::string big = TestBytes(1 << 20, 3);
  VV_ASSERT_OK(store_->Put("d/k", big));
  auto reader = store_->OpenReader("d/k");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->size(), big.size());
  for (auto [offset, length] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0, 10}, {12345, 70000}, {big.size() - 1, 1}, {big.size(), 0}, {0, big.size()}}) {
    std::string got(length, '\0');
    VV_ASSERT_OK((*reader)->ReadAt(offset, std::span<char>(got)));
    EXPECT_TRUE(got == big.substr(offset, length)) << offset << "+" << length;
  }
  std::string one(2, '\0');
  Status past = (*reader)->ReadAt(big.size() - 1, std::span<char>(one));
  EXPECT_EQ(past.code(), StatusCode::kInvalidArgument) << past.ToString();
  EXPECT_NE(past.message().find("\"d/k\""), std::string_view::npos) << past.ToString();
}

TEST_P(ObjectStoreTest, ListFiltersByPrefixAndSortsByUnsignedBytes) {
  // Put in a scrambled order; "a\xc3\xa9" sorts last among the "a" keys only if bytes compare
  // unsigned, as S3 orders UTF-8 keys.
  for (std::string key : {"c", "a\xc3\xa9", "b/2", "a/sub/x", "a~", "a/2", "ab", "a/10", "a/1"}) {
    VV_ASSERT_OK(store_->Put(key, key + "!"));
  }
  auto all = store_->List("");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(Keys(*all), (std::vector<std::string>{"a/1", "a/10", "a/2", "a/sub/x", "ab", "a~",
                                                  "a\xc3\xa9", "b/2", "c"}));
  for (const ObjectInfo& info : *all) EXPECT_EQ(info.size, info.key.size() + 1) << info.key;

  struct Case {
    std::string prefix;
    std::vector<std::string> want;
  };
  for (const Case& c : std::vector<Case>{
           {"a/", {"a/1", "a/10", "a/2", "a/sub/x"}},
           {"a", {"a/1", "a/10", "a/2", "a/sub/x", "ab", "a~", "a\xc3\xa9"}},
           {"a/1", {"a/1", "a/10"}},
           {"a/s", {"a/sub/x"}},
           {"a/sub", {"a/sub/x"}},
           {"a/sub/x", {"a/sub/x"}},
           {"a/sub/x/", {}},
           {"b", {"b/2"}},
           {"c", {"c"}},
           {"zzz", {}},
           {"/", {}},
       }) {
    auto got = store_->List(c.prefix);
    ASSERT_TRUE(got.ok()) << c.prefix << ": " << got.status().ToString();
    EXPECT_EQ(Keys(*got), c.want) << "prefix " << c.prefix;
  }
}

TEST_P(ObjectStoreTest, DeleteIsIdempotent) {
  VV_EXPECT_OK(store_->Delete("never/existed"));
  VV_ASSERT_OK(store_->Put("t/b/k", "v"));
  VV_ASSERT_OK(store_->Put("t/b/other", "w"));
  VV_ASSERT_OK(store_->Delete("t/b/k"));
  EXPECT_EQ(store_->Get("t/b/k").status().code(), StatusCode::kNotFound);
  VV_EXPECT_OK(store_->Delete("t/b/k"));
  // Naming a "directory" deletes nothing.
  VV_EXPECT_OK(store_->Delete("t/b"));
  VV_EXPECT_OK(store_->Delete("t"));
  auto listed = store_->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(Keys(*listed), std::vector<std::string>{"t/b/other"});
  EXPECT_EQ(store_->Get("t/b/other").value(), "w");
}

TEST_P(ObjectStoreTest, InvalidKeysAreRejectedByEveryMethod) {
  for (std::string key : std::vector<std::string>{"", "/abs", "../escape", "a/../../escape", "a//b",
                                                  "a/", "a\\b", std::string("nul\0", 4),
                                                  "k.tmp.00000000deadbeef"}) {
    EXPECT_EQ(store_->Put(key, "x").code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->Get(key).status().code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->GetRange(key, 0, 0).status().code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->Size(key).status().code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->Delete(key).code(), StatusCode::kInvalidArgument) << key;
  }
  auto listed = store_->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_TRUE(listed->empty());
  EXPECT_FALSE(fs::exists(tmp_.path() + "/escape"));
  EXPECT_FALSE(fs::exists("/abs"));
}

TEST_P(ObjectStoreTest, AKeyCannotBeBothAnObjectAndADirectory) {
  VV_ASSERT_OK(store_->Put("a/b", "under"));
  Status s = store_->Put("a", "over");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  VV_ASSERT_OK(store_->Put("x", "file"));
  s = store_->Put("x/y", "below a file");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  s = store_->Put("x/y/z", "deeper below a file");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(store_->Get("a/b").value(), "under");
  EXPECT_EQ(store_->Get("x").value(), "file");
  auto listed = store_->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(Keys(*listed), (std::vector<std::string>{"a/b", "x"}));
  // Once "a/b" is gone, "a" can be an object.
  VV_ASSERT_OK(store_->Delete("a/b"));
  VV_EXPECT_OK(store_->Put("a", "now a file"));
  EXPECT_EQ(store_->Get("a").value(), "now a file");
}

// Readers of a key that writers keep replacing see a whole value every time: the right size
// and a single fill byte, never a mix of two values or a prefix of one.
TEST_P(ObjectStoreTest, ConcurrentReadersSeeOnlyWholeValues) {
  constexpr size_t kValueBytes = 256 << 10;
  constexpr int kWriters = 2;
  constexpr int kPutsPerWriter = 25;
  constexpr int kReaders = 3;
  auto value = [](int writer, int i) {
    return std::string(kValueBytes, static_cast<char>('A' + (writer * kPutsPerWriter + i) % 50));
  };
  auto whole = [&](const std::string& got, size_t want_size) {
    if (got.size() != want_size) return false;
    return std::all_of(got.begin(), got.end(), [&](char c) { return c == got[0]; }) &&
           got[0] >= 'A' && got[0] < 'A' + 50;
  };
  const std::string key = "t/blk/data";
  VV_ASSERT_OK(store_->Put(key, value(0, 0)));

  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      uint64_t n = 0;
      while (!stop.load()) {
        ++n;
        bool ok;
        if ((n + r) % 3 == 0) {
          auto got = store_->GetRange(key, (n * 4099) % (kValueBytes - 8192), 8192);
          ok = got.ok() && whole(*got, 8192);
        } else if ((n + r) % 3 == 1) {
          auto size = store_->Size(key);
          ok = size.ok() && *size == kValueBytes;
        } else {
          auto got = store_->Get(key);
          ok = got.ok() && whole(*got, kValueBytes);
        }
        if (!ok) failures.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPutsPerWriter; ++i) {
        if (!store_->Put(key, value(w, i)).ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : writers) t.join();
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0u);
  auto listed = store_->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(*listed, (std::vector<ObjectInfo>{{key, kValueBytes}}));
}

// Puts and deletes of sibling keys race on the creation and removal of their shared parent
// directories in the local store; each thread's own object must behave as if it were alone.
TEST_P(ObjectStoreTest, ConcurrentPutsAndDeletesOfSiblings) {
  constexpr int kThreads = 3;
  constexpr int kRounds = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string key = "tenant/block/part/obj" + std::to_string(t);
      for (int i = 0; i < kRounds; ++i) {
        std::string data = key + ":" + std::to_string(i);
        Status s = store_->Put(key, data);
        if (!s.ok()) {
          ADD_FAILURE() << "Put " << key << ": " << s.ToString();
          failures.fetch_add(1);
          continue;
        }
        auto got = store_->Get(key);
        if (!got.ok() || *got != data) failures.fetch_add(1);
        s = store_->Delete(key);
        if (!s.ok()) {
          ADD_FAILURE() << "Delete " << key << ": " << s.ToString();
          failures.fetch_add(1);
        }
        if (store_->Get(key).status().code() != StatusCode::kNotFound) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto listed = store_->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_TRUE(listed->empty());
  if (local()) {
    EXPECT_EQ(Tree(root()), std::vector<std::string>{});
  }
}

TEST_P(ObjectStoreTest, AWriterMakesTheObjectVisibleOnlyAtCommit) {
  VV_ASSERT_OK(store_->Put("t/b/data", "old"));
  auto w = store_->NewWriter("t/b/data");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::string want;
  for (int i = 0; i < 40; ++i) {
    std::string piece = TestBytes(1000 + i * 997, i);
    VV_ASSERT_OK((*w)->Append(piece));
    want += piece;
    if (i == 20) {
      EXPECT_EQ(store_->Get("t/b/data").value(), "old");
    }
  }
  EXPECT_EQ((*w)->size(), want.size());
  EXPECT_EQ(Keys(store_->List("").value()), std::vector<std::string>{"t/b/data"});
  VV_ASSERT_OK((*w)->Commit());
  EXPECT_TRUE(store_->Get("t/b/data").value() == want);
  EXPECT_EQ((*w)->Commit().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*w)->Append("x").code(), StatusCode::kFailedPrecondition);
}

TEST_P(ObjectStoreTest, AnAbandonedWriterLeavesNothing) {
  {
    auto w = store_->NewWriter("t/b/data");
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    VV_ASSERT_OK((*w)->Append(TestBytes(5000, 1)));
  }
  EXPECT_EQ(Keys(store_->List("").value()), std::vector<std::string>{});
  EXPECT_EQ(store_->Get("t/b/data").status().code(), StatusCode::kNotFound);
  if (local()) {
    EXPECT_EQ(Tree(root()), std::vector<std::string>{});
  }
  EXPECT_EQ(store_->NewWriter("bad//key").status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ObjectStoreTest, DescribeNamesTheStore) {
  switch (GetParam()) {
    case Kind::kMemory: EXPECT_EQ(store_->Describe(), "memory"); break;
    case Kind::kLocal: EXPECT_EQ(store_->Describe(), "local:" + root()); break;
    case Kind::kFaultyMemory: EXPECT_EQ(store_->Describe(), "faulty(memory)"); break;
  }
}

// ---------------------------------------------------------------------------------------------
// What only the local store does.

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = LocalStore::Open(root());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    store_ = std::move(r).value();
  }
  std::string root() const { return tmp_.path() + "/objects"; }

  TempDir tmp_;
  std::unique_ptr<LocalStore> store_;
};

TEST_F(LocalStoreTest, ObjectsAreFilesAtTheirKeysWithNoTemporariesLeft) {
  std::string data = TestBytes(100000, 3);
  VV_ASSERT_OK(store_->Put("t/b1/data", data));
  VV_ASSERT_OK(store_->Put("t/b1/meta.json", "{}"));
  VV_ASSERT_OK(store_->Put("t/b1/meta.json", "{\"replaced\":true}"));
  VV_ASSERT_OK(store_->Put("top", "x"));
  EXPECT_EQ(Tree(root()),
            (std::vector<std::string>{"t/", "t/b1/", "t/b1/data", "t/b1/meta.json", "top"}));
  EXPECT_TRUE(ReadFile(root() + "/t/b1/data") == data);
  EXPECT_EQ(ReadFile(root() + "/t/b1/meta.json"), "{\"replaced\":true}");
}

TEST_F(LocalStoreTest, DeleteRemovesEmptyParentDirectoriesButNotTheRoot) {
  VV_ASSERT_OK(store_->Put("t/b1/meta.json", "m"));
  VV_ASSERT_OK(store_->Put("t/b1/data", "d"));
  VV_ASSERT_OK(store_->Put("t/b2/meta.json", "m"));
  VV_ASSERT_OK(store_->Delete("t/b1/meta.json"));
  EXPECT_EQ(Tree(root()),
            (std::vector<std::string>{"t/", "t/b1/", "t/b1/data", "t/b2/", "t/b2/meta.json"}));
  VV_ASSERT_OK(store_->Delete("t/b1/data"));
  EXPECT_EQ(Tree(root()), (std::vector<std::string>{"t/", "t/b2/", "t/b2/meta.json"}));
  VV_ASSERT_OK(store_->Delete("t/b2/meta.json"));
  EXPECT_EQ(Tree(root()), std::vector<std::string>{});
  EXPECT_TRUE(fs::is_directory(root()));
  // A Delete of an absent key also cleans up empty directories left behind (e.g. by a Delete
  // that failed after its unlink).
  fs::create_directories(root() + "/x/y");
  VV_ASSERT_OK(store_->Delete("x/y/gone"));
  EXPECT_EQ(Tree(root()), std::vector<std::string>{});
}

TEST_F(LocalStoreTest, PutReplacesAnEmptyDirectoryButNotOneHoldingObjects) {
  // An interrupted Delete can leave an empty directory behind; it is no object and no obstacle.
  fs::create_directories(root() + "/t/b");
  VV_ASSERT_OK(store_->Put("t/b", "object now"));
  EXPECT_EQ(store_->Get("t/b").value(), "object now");
  EXPECT_EQ(Tree(root()), (std::vector<std::string>{"t/", "t/b"}));

  VV_ASSERT_OK(store_->Put("u/v/w", "below"));
  Status s = store_->Put("u/v", "over");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find(root() + "/u/v"), std::string_view::npos) << s.ToString();
  EXPECT_EQ(store_->Get("u/v/w").value(), "below");
  EXPECT_EQ(Tree(root()), (std::vector<std::string>{"t/", "t/b", "u/", "u/v/", "u/v/w"}));
}

TEST_F(LocalStoreTest, ListIgnoresTemporariesAndCleanupRemovesThem) {
  VV_ASSERT_OK(store_->Put("t/b/meta.json", "m"));
  WriteFile(root() + "/t/b/data.tmp.0123456789abcdef", "torn");
  WriteFile(root() + "/t/gone/data.tmp.fedcba9876543210", "torn");
  WriteFile(root() + "/top.tmp.00000000000000ff", "torn");
  // Not temporaries: wrong shape of suffix.
  WriteFile(root() + "/t/b/x.tmp.0123", "object");
  WriteFile(root() + "/t/b/y.tmp.0123456789ABCDEF", "object");
  auto listed = store_->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(Keys(*listed), (std::vector<std::string>{"t/b/meta.json", "t/b/x.tmp.0123",
                                                     "t/b/y.tmp.0123456789ABCDEF"}));

  auto removed = store_->CleanupTemporaries();
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 3u);
  EXPECT_EQ(Tree(root()), (std::vector<std::string>{"t/", "t/b/", "t/b/meta.json", "t/b/x.tmp.0123",
                                                    "t/b/y.tmp.0123456789ABCDEF"}));
  EXPECT_EQ(store_->CleanupTemporaries().value(), 0u);
}

TEST_F(LocalStoreTest, SymlinksAndDirectoriesAreNotObjects) {
  VV_ASSERT_OK(store_->Put("real", "data"));
  fs::create_symlink(root() + "/real", root() + "/link");
  fs::create_directories(root() + "/emptydir");
  EXPECT_EQ(store_->Get("link").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Size("link").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("emptydir").status().code(), StatusCode::kNotFound);
  auto listed = store_->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(Keys(*listed), std::vector<std::string>{"real"});
}

TEST_F(LocalStoreTest, ObjectsSurviveReopening) {
  VV_ASSERT_OK(store_->Put("t/b/meta.json", "persisted"));
  store_.reset();
  auto reopened = NewLocalStore(root() + "///");
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->Describe(), "local:" + root());
  EXPECT_EQ((*reopened)->Get("t/b/meta.json").value(), "persisted");
}

TEST_F(LocalStoreTest, OpenCreatesTheRootOrRejectsWhatIsNotADirectory) {
  auto nested = NewLocalStore(tmp_.path() + "/a/b/c");
  ASSERT_TRUE(nested.ok()) << nested.status().ToString();
  EXPECT_TRUE(fs::is_directory(tmp_.path() + "/a/b/c"));

  WriteFile(tmp_.path() + "/file", "not a directory");
  auto on_file = NewLocalStore(tmp_.path() + "/file");
  EXPECT_EQ(on_file.status().code(), StatusCode::kFailedPrecondition)
      << on_file.status().ToString();
  EXPECT_NE(on_file.status().message().find(tmp_.path() + "/file"), std::string_view::npos);

  auto below_file = NewLocalStore(tmp_.path() + "/file/sub");
  EXPECT_FALSE(below_file.ok());
  EXPECT_NE(below_file.status().message().find(tmp_.path() + "/file"), std::string_view::npos)
      << below_file.status().ToString();

  EXPECT_EQ(NewLocalStore("").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LocalStoreTest, ErrorsCarryThePath) {
  auto absent = store_->Get("t/missing");
  EXPECT_EQ(absent.status().code(), StatusCode::kNotFound);
  EXPECT_NE(absent.status().message().find(root() + "/t/missing"), std::string_view::npos)
      << absent.status().ToString();

  VV_ASSERT_OK(store_->Put("file", "x"));
  Status below_object = store_->Put("file/k", "v");
  EXPECT_EQ(below_object.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(below_object.message().find(root() + "/file/k"), std::string_view::npos)
      << below_object.ToString();

  // The root vanishing under the store is an I/O error naming the path, not something to retry.
  fs::remove_all(root());
  for (std::string key : {"k", "t/k"}) {
    Status s = store_->Put(key, "v");
    EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
    EXPECT_NE(s.message().find(root() + "/"), std::string_view::npos) << s.ToString();
    EXPECT_NE(s.message().find("No such file"), std::string_view::npos) << s.ToString();
  }
  auto listed = store_->List("");
  EXPECT_EQ(listed.status().code(), StatusCode::kInternal);
  EXPECT_NE(listed.status().message().find(root()), std::string_view::npos)
      << listed.status().ToString();
  fs::create_directories(root());
}

TEST_F(LocalStoreTest, PermissionErrorsCarryThePath) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  fs::permissions(root(), fs::perms::owner_read | fs::perms::owner_exec);
  Status denied = store_->Put("t/k", "v");
  fs::permissions(root(), fs::perms::owner_all);
  EXPECT_EQ(denied.code(), StatusCode::kInternal) << denied.ToString();
  EXPECT_NE(denied.message().find(root() + "/t"), std::string_view::npos) << denied.ToString();
}

TEST_F(LocalStoreTest, TruncatedFilesGiveRangeErrorsNotShortValues) {
  // Only possible when something outside the store rewrites a file in place; the store must
  // not return fewer bytes than asked for as if that were the object.
  VV_ASSERT_OK(store_->Put("k", "0123456789"));
  auto whole = store_->GetRange("k", 2, 8);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(*whole, "23456789");
  // Truncating between the size check and the read cannot be arranged deterministically here,
  // so check the outcome of a truncation before the call: a range error, never a short value.
  ASSERT_EQ(::truncate((root() + "/k").c_str(), 4), 0);
  EXPECT_EQ(store_->GetRange("k", 2, 8).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Get("k").value(), "0123");
}

TEST_F(LocalStoreTest, ReaderKeepsReadingWhatWasOpenedAfterDeleteAndReplace) {
  VV_ASSERT_OK(store_->Put("t/b/data", "old bytes"));
  auto reader = store_->OpenReader("t/b/data");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  VV_ASSERT_OK(store_->Put("t/b/data", "NEW BYTES, longer"));
  std::string got(9, '\0');
  VV_ASSERT_OK((*reader)->ReadAt(0, std::span<char>(got)));
  EXPECT_EQ(got, "old bytes");
  VV_ASSERT_OK(store_->Delete("t/b/data"));
  VV_ASSERT_OK((*reader)->ReadAt(0, std::span<char>(got)));
  EXPECT_EQ(got, "old bytes");
  EXPECT_EQ(store_->OpenReader("t/b/data").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace vivace::io
