#include "query/merged_source.h"

#include <gtest/gtest.h>

#include <map>

namespace vivace::query {
namespace {

// A TraceSource holding spans (span id byte → name) of one trace, or failing.
class FakeSource : public model::TraceSource {
 public:
  FakeSource(std::map<uint8_t, std::string> spans, Status error = Status::OK())
      : spans_(std::move(spans)), error_(std::move(error)) {}
  Result<std::unique_ptr<model::SpanBatch>> FindTrace(std::string_view tenant, const model::TraceId& id, uint64_t,
                                                      uint64_t) override {
    if (!error_.ok()) return error_;
    auto b = std::make_unique<model::SpanBatch>();
    b->tenant = std::string(tenant);
    b->resources.push_back({});
    b->scopes.push_back({});
    for (const auto& [sid, name] : spans_) {
      model::SpanRow r;
      r.trace_id = id;
      r.span_id.bytes[0] = sid;
      r.name = b->arena.Copy(name);
      b->Append(r);
    }
    return b;
  }

 private:
  std::map<uint8_t, std::string> spans_;
  Status error_;
};

TEST(MergedTraceSourceTest, MergesSourcesAndTheFirstCopyOfASpanWins) {
  FakeSource live({{1, "live-1"}, {2, "live-2"}});
  FakeSource blocks({{2, "block-2"}, {3, "block-3"}});
  FakeSource empty({});
  MergedTraceSource merged({&live, &empty, &blocks});
  auto got = merged.FindTrace("t", model::TraceId(), 0, 0);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ((*got)->size(), 3u);
  std::map<uint8_t, std::string_view> names;
  for (size_t i = 0; i < (*got)->size(); ++i) names[(*got)->span_id[i].bytes[0]] = (*got)->name[i];
  EXPECT_EQ(names[1], "live-1");
  EXPECT_EQ(names[2], "live-2");
  EXPECT_EQ(names[3], "block-3");

  MergedTraceSource one({&empty, &blocks});
  EXPECT_EQ(one.FindTrace("t", model::TraceId(), 0, 0).value()->size(), 2u);
  MergedTraceSource none({&empty});
  EXPECT_TRUE(none.FindTrace("t", model::TraceId(), 0, 0).value()->empty());
}

TEST(MergedTraceSourceTest, AnErrorOfAnySourceIsReturned) {
  FakeSource live({{1, "a"}});
  FakeSource broken({}, DataLoss("block x: checksum mismatch"));
  MergedTraceSource merged({&live, &broken});
  EXPECT_EQ(merged.FindTrace("t", model::TraceId(), 0, 0).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace vivace::query
