#include "api/http.h"

#include <gtest/gtest.h>

#include "api/http_server.h"

namespace vivace::api {
namespace {

TEST(HttpTest, QueryAndHeaders) {
  HttpRequest r;
  r.query = "start=10&q=%7B+.a%3D1+%7D&flag&end=";
  r.headers = {{"X-Scope-OrgID", "t1"}};
  EXPECT_EQ(r.Query("start").value(), "10");
  EXPECT_EQ(r.Query("q").value(), "{ .a=1 }");
  EXPECT_EQ(r.Query("flag").value(), "");
  EXPECT_EQ(r.Query("end").value(), "");
  EXPECT_FALSE(r.Query("missing").has_value());
  EXPECT_EQ(r.Header("x-scope-orgid"), "t1");
  EXPECT_EQ(PercentDecode("resource.service%252Ename").value(), "resource.service%2Ename");
  EXPECT_FALSE(PercentDecode("%4").has_value());
  EXPECT_FALSE(PercentDecode("%zz").has_value());
}

TEST(HttpTest, RouterMatchesAndAnswers404And405) {
  Router router;
  std::string seen;
  router.Exact({"GET"}, "/ready", [&](HttpRequest&&, HttpResponder respond) {
    seen = "ready";
    respond(HttpResponse::Text(200, "ok"));
  });
  router.Prefix({"GET"}, "/api/traces/", [&](HttpRequest&& req, HttpResponder respond) {
    seen = req.path;
    respond(HttpResponse::Text(200, "ok"));
  });
  auto dispatch = [&](std::string method, std::string path) {
    HttpRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    HttpResponse out;
    router.Dispatch(std::move(r), [&](HttpResponse resp) { out = std::move(resp); });
    return out;
  };
  EXPECT_EQ(dispatch("GET", "/ready").status, 200);
  EXPECT_EQ(dispatch("GET", "/api/traces/abc").status, 200);
  EXPECT_EQ(seen, "/api/traces/abc");
  EXPECT_EQ(dispatch("GET", "/nope").status, 404);
  auto r = dispatch("POST", "/ready");
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "GET");
}

TEST(HttpTest, SplitHostPort) {
  EXPECT_EQ(SplitHostPort("0.0.0.0:3200").value(), std::make_pair(std::string("0.0.0.0"), uint16_t{3200}));
  EXPECT_EQ(SplitHostPort(":4318").value().second, 4318);
  EXPECT_EQ(SplitHostPort("[::1]:80").value().first, "::1");
  EXPECT_EQ(SplitHostPort("localhost:1").value().first, "127.0.0.1");
  EXPECT_FALSE(SplitHostPort("nohost").ok());
  EXPECT_FALSE(SplitHostPort("h:99999").ok());
  EXPECT_FALSE(SplitHostPort("h:12a").ok());
}

}  // namespace
}  // namespace vivace::api
