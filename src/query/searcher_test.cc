#include "query/searcher.h"

#include <gtest/gtest.h>

#include "blocks/block.h"
#include "io/object_store.h"
#include "model/tenant.h"

namespace vivace::query {
namespace {

// Two traces in one block: "api" (server span with an error child) and "web".
class SearcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = io::NewMemoryStore();
    model::SpanBatch b;
    b.tenant = std::string(model::kDefaultTenant);
    for (std::string svc : {"api", "web"}) {
      model::Resource r;
      r.attributes = b.AllocAttributes(1);
      b.attributes[r.attributes.first] = {b.arena.Copy("service.name"), model::Value::String(b.arena.Copy(svc))};
      b.resources.push_back(r);
      model::Scope sc;
      sc.resource = static_cast<uint32_t>(b.resources.size() - 1);
      b.scopes.push_back(sc);
    }
    auto span = [&](uint8_t trace, uint8_t id, uint8_t parent, uint32_t scope, model::StatusCode st) {
      model::SpanRow row;
      row.trace_id.bytes[15] = trace;
      row.span_id.bytes[7] = id;
      if (parent != 0) row.parent_span_id.bytes[7] = parent;
      row.name = "op";
      row.kind = model::SpanKind::kServer;
      row.start_unix_nano = 1700000000000000000ull + trace * 1000000000ull + id;
      row.end_unix_nano = row.start_unix_nano + 5000000;
      row.status_code = st;
      row.scope = scope;
      row.attributes = b.AllocAttributes(1);
      b.attributes[row.attributes.first] = {b.arena.Copy("http.method"), model::Value::String(b.arena.Copy(trace == 1 ? "GET" : "POST"))};
      b.Append(row);
    };
    span(1, 1, 0, 0, model::StatusCode::kUnset);
    span(1, 2, 1, 0, model::StatusCode::kError);
    span(2, 3, 0, 1, model::StatusCode::kOk);
    blocks::BlockWriter w(store_.get(), std::string(model::kDefaultTenant), {});
    std::vector<uint32_t> t1{0, 1}, t2{2};
    ASSERT_TRUE(w.AddTrace(b, t1).ok());
    ASSERT_TRUE(w.AddTrace(b, t2).ok());
    ASSERT_TRUE(w.Finish().ok());
    blocklist_ = std::make_unique<storage::Blocklist>(store_.get());
    ASSERT_TRUE(blocklist_->Poll().ok());
  }

  std::unique_ptr<io::ObjectStore> store_;
  std::unique_ptr<storage::Blocklist> blocklist_;
};

TEST_F(SearcherTest, SearchesTheTenantsBlocks) {
  Searcher s(blocklist_.get(), nullptr);
  SearchRequest req;
  req.query = "{ resource.service.name = \"api\" } >> { status = error }";
  auto r = s.Search(model::kDefaultTenant, req, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->traces.size(), 1u);
  EXPECT_EQ(r->traces[0].root_service_name, "api");
  ASSERT_EQ(r->traces[0].spansets.size(), 1u);
  EXPECT_EQ(r->traces[0].spansets[0].matched, 1u);
  EXPECT_EQ(r->metrics.total_blocks, 1u);

  req.query = "{ }";
  r = s.Search(model::kDefaultTenant, req, nullptr);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->traces.size(), 2u);
  EXPECT_EQ(r->traces[0].root_service_name, "web");  // most recent first

  r = s.Search("other-tenant", req, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->traces.empty());

  req.query = "{ status = }";
  EXPECT_EQ(s.Search(model::kDefaultTenant, req, nullptr).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SearcherTest, TimesOutWithDeadlineExceeded) {
  SearcherOptions o;
  o.timeout = std::chrono::milliseconds(-1);
  Searcher s(blocklist_.get(), nullptr, o);
  SearchRequest req;
  EXPECT_EQ(s.Search(model::kDefaultTenant, req, nullptr).status().code(), StatusCode::kDeadlineExceeded);
}

TEST_F(SearcherTest, TagNamesAndValues) {
  Searcher s(blocklist_.get(), nullptr);
  auto names = s.TagNames(model::kDefaultTenant, TagsRequest{});
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->scopes["span"], std::vector<std::string>{"http.method"});
  EXPECT_EQ(names->scopes["resource"], std::vector<std::string>{"service.name"});

  TagValuesRequest v;
  v.tag = "resource.service.name";
  auto values = s.TagValues(model::kDefaultTenant, v);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(values->values, (std::vector<TagValue>{{"string", "api"}, {"string", "web"}}));
  v.tag = ".http.method";
  values = s.TagValues(model::kDefaultTenant, v);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(values->values, (std::vector<TagValue>{{"string", "GET"}, {"string", "POST"}}));
  v.tag = "{ nope";
  EXPECT_EQ(s.TagValues(model::kDefaultTenant, v).status().code(), StatusCode::kInvalidArgument);
}

// v2's q: only the values of spans the query matches; "{}" is no filter; v1 ignores q (Tempo).
TEST_F(SearcherTest, TagValuesFilteredByAQuery) {
  Searcher s(blocklist_.get(), nullptr);
  TagValuesRequest v;
  v.tag = "resource.service.name";
  v.query = "{ status = error }";
  auto values = s.TagValues(model::kDefaultTenant, v);
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ(values->values, (std::vector<TagValue>{{"string", "api"}}));
  v.tag = ".http.method";
  v.query = "{ resource.service.name = \"web\" }";
  values = s.TagValues(model::kDefaultTenant, v);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(values->values, (std::vector<TagValue>{{"string", "POST"}}));
  // Structural: the values of the spans the operator returns (the child), not its parent.
  v.tag = ".http.method";
  v.query = "{ status = unset } > { }";
  values = s.TagValues(model::kDefaultTenant, v);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(values->values, (std::vector<TagValue>{{"string", "GET"}}));
  v.tag = ".http.method";
  v.query = "{ status = ok && resource.service.name = \"api\" }";
  values = s.TagValues(model::kDefaultTenant, v);
  ASSERT_TRUE(values.ok());
  EXPECT_TRUE(values->values.empty());
  v.query = " {} ";
  values = s.TagValues(model::kDefaultTenant, v);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(values->values.size(), 2u);
  v.query = "{ status = }";
  EXPECT_EQ(s.TagValues(model::kDefaultTenant, v).status().code(), StatusCode::kInvalidArgument);
  v.v2 = false;
  v.tag = "http.method";
  v.query = "{ status = error }";
  values = s.TagValues(model::kDefaultTenant, v);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(values->values.size(), 2u);
}

}  // namespace
}  // namespace vivace::query
