#include "exporters/retry.h"

#include <gtest/gtest.h>

#include <set>

#include "base/protowire.h"
#include "conf/yaml.h"
#include "exporters/otlp_grpc.h"
#include "exporters/otlp_http.h"
#include "exporters/test_util.h"
#include "receivers/otlp/otlp_receiver.h"

namespace vivace::exporters {
namespace {

using testing::RecordingClock;

RetryOptions NoJitter() {
  RetryOptions o;
  o.randomization_factor = 0;
  return o;
}

// An attempt function failing `failures` times with `fail`, then succeeding.
struct Script {
  int failures;
  Attempt fail;
  int calls = 0;
  Attempt operator()() {
    ++calls;
    if (calls <= failures) return fail;
    return Attempt::Ok();
  }
};

TEST(BackoffTest, GrowsByMultiplierUpToMaxInterval) {
  RetryOptions o = NoJitter();  // 5s initial, x1.5, 30s max
  Backoff b(o, 1);
  std::vector<int64_t> got;
  for (int i = 0; i < 8; ++i) got.push_back(b.Next().count());
  EXPECT_EQ(got, (std::vector<int64_t>{5000, 7500, 11250, 16875, 25313, 30000, 30000, 30000}));
}

TEST(BackoffTest, JitterStaysWithinTheRandomizationFactor) {
  RetryOptions o;  // randomization_factor 0.5
  o.max_interval = Millis(5000);
  std::set<int64_t> distinct;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Backoff b(o, seed);
    int64_t first = b.Next().count();
    EXPECT_GE(first, 2500);
    EXPECT_LE(first, 7500);
    distinct.insert(first);
  }
  EXPECT_GT(distinct.size(), 50u);  // really random, not a constant
}

TEST(SendWithRetryTest, RetriesWithTheBackoffSequenceUntilSuccess) {
  RecordingClock clock;
  Script s{3, Attempt::Retryable(Unavailable("down"))};
  SendResult r = SendWithRetry(NoJitter(), &clock, 1, "test", std::ref(s));
  EXPECT_EQ(r.outcome, SendOutcome::kSent);
  EXPECT_EQ(r.attempts, 4);
  EXPECT_EQ(clock.sleeps(), (std::vector<Millis>{Millis(5000), Millis(7500), Millis(11250)}));
}

TEST(SendWithRetryTest, ThrottleDelayIsTheLeastWait) {
  RecordingClock clock;
  // The server asks for 40s: longer than the 5s back-off, so 40s it is. A shorter request
  // (1s) does not shorten the back-off.
  Script s{1, Attempt::Retryable(Unavailable("slow down"), Millis(40000))};
  EXPECT_EQ(SendWithRetry(NoJitter(), &clock, 1, "test", std::ref(s)).outcome, SendOutcome::kSent);
  Script t{1, Attempt::Retryable(Unavailable("slow down"), Millis(1000))};
  EXPECT_EQ(SendWithRetry(NoJitter(), &clock, 1, "test", std::ref(t)).outcome, SendOutcome::kSent);
  EXPECT_EQ(clock.sleeps(), (std::vector<Millis>{Millis(40000), Millis(5000)}));
}

TEST(SendWithRetryTest, PermanentErrorsAreNotRetried) {
  RecordingClock clock;
  Script s{100, Attempt::Permanent(InvalidArgument("bad data"))};
  SendResult r = SendWithRetry(NoJitter(), &clock, 1, "test", std::ref(s));
  EXPECT_EQ(r.outcome, SendOutcome::kFailed);
  EXPECT_FALSE(r.exhausted);
  EXPECT_EQ(s.calls, 1);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(SendWithRetryTest, GivesUpWhenTheNextWaitPassesMaxElapsedTime) {
  RecordingClock clock;
  RetryOptions o = NoJitter();
  o.max_elapsed_time = Millis(60000);
  Script s{100, Attempt::Retryable(Unavailable("down"))};
  SendResult r = SendWithRetry(o, &clock, 1, "test", std::ref(s));
  // Waits 5 + 7.5 + 11.25 + 16.875 = 40.6s; the next (25.3s) would end past 60s.
  EXPECT_EQ(r.outcome, SendOutcome::kFailed);
  EXPECT_TRUE(r.exhausted);
  EXPECT_EQ(s.calls, 5);
  EXPECT_EQ(clock.sleeps().size(), 4u);
}

TEST(SendWithRetryTest, ZeroMaxElapsedTimeRetriesForever) {
  RecordingClock clock;
  RetryOptions o = NoJitter();
  o.max_elapsed_time = Millis(0);
  Script s{200, Attempt::Retryable(Unavailable("down"))};
  SendResult r = SendWithRetry(o, &clock, 1, "test", std::ref(s));
  EXPECT_EQ(r.outcome, SendOutcome::kSent);
  EXPECT_EQ(s.calls, 201);
}

TEST(SendWithRetryTest, DisabledMeansOneAttempt) {
  RecordingClock clock;
  RetryOptions o;
  o.enabled = false;
  Script s{1, Attempt::Retryable(Unavailable("down"))};
  SendResult r = SendWithRetry(o, &clock, 1, "test", std::ref(s));
  EXPECT_EQ(r.outcome, SendOutcome::kFailed);
  EXPECT_EQ(s.calls, 1);
}

TEST(SendWithRetryTest, InterruptEndsTheWaitButNotTheFirstAttempt) {
  RecordingClock clock;
  clock.Interrupt();
  Script ok{0, Attempt::Retryable(Unavailable("down"))};
  EXPECT_EQ(SendWithRetry(NoJitter(), &clock, 1, "test", std::ref(ok)).outcome, SendOutcome::kSent);
  Script s{100, Attempt::Retryable(Unavailable("down"))};
  SendResult r = SendWithRetry(NoJitter(), &clock, 1, "test", std::ref(s));
  EXPECT_EQ(r.outcome, SendOutcome::kInterrupted);
  EXPECT_EQ(s.calls, 1);
}

TEST(SystemRetryClockTest, InterruptWakesASleeper) {
  SystemRetryClock clock;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    clock.Interrupt();
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(clock.Sleep(Millis(60000)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  t.join();
  EXPECT_FALSE(clock.Sleep(Millis(1)));
}

TEST(RetryAfterTest, SecondsAndHttpDates) {
  // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480.
  const uint64_t now = 1445412470ull * 1000000000ull;
  EXPECT_EQ(ParseRetryAfter("120", now), Millis(120000));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), Millis(0));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now), Millis(10000));
  EXPECT_EQ(ParseRetryAfter("Wednesday, 21-Oct-15 07:28:00 GMT", now), Millis(10000));
  EXPECT_EQ(ParseRetryAfter("Wed Oct 21 07:28:00 2015", now), Millis(10000));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now), Millis(0));  // past
  EXPECT_FALSE(ParseRetryAfter("soon", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("-5", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("", now).has_value());
}

TEST(RpcStatusTest, RetryInfoAndMessage) {
  std::string with = receivers::EncodeRpcStatus(14, "try later", 3);
  EXPECT_EQ(RetryDelayFromRpcStatus(with), Millis(3000));
  EXPECT_EQ(MessageFromRpcStatus(with), "try later");
  EXPECT_FALSE(RetryDelayFromRpcStatus(receivers::EncodeRpcStatus(14, "x", 0)).has_value());
  EXPECT_FALSE(RetryDelayFromRpcStatus("").has_value());

  // retry_delay with nanos: 1.25s.
  std::string st;
  protowire::Writer w(&st);
  w.Varint(1, 8);
  size_t any = w.BeginMessage(3);
  w.Bytes(1, "type.googleapis.com/google.rpc.RetryInfo");
  size_t value = w.BeginMessage(2);
  size_t delay = w.BeginMessage(1);
  w.Varint(1, 1);
  w.Varint(2, 250000000);
  w.EndMessage(delay);
  w.EndMessage(value);
  w.EndMessage(any);
  EXPECT_EQ(RetryDelayFromRpcStatus(st), Millis(1250));
}

TEST(GrpcAttemptTest, RetryableCodesAsTheCollector) {
  struct Case {
    int code;
    bool with_retry_info;
    bool ok;
    bool retryable;
  };
  const Case cases[] = {
      {0, false, true, false},   {1, false, false, true},   {2, false, false, false},
      {3, false, false, false},  {4, false, false, true},   {5, false, false, false},
      {7, false, false, false},  {8, false, false, false},  {8, true, false, true},
      {9, false, false, false},  {10, false, false, true},  {11, false, false, true},
      {12, false, false, false}, {13, false, false, false}, {14, false, false, true},
      {14, true, false, true},   {15, false, false, true},  {16, false, false, false},
  };
  for (const Case& c : cases) {
    std::string details = receivers::EncodeRpcStatus(c.code, "m", c.with_retry_info ? 2 : 0);
    Attempt a = GrpcAttempt(c.code, "m", details, "");
    EXPECT_EQ(a.status.ok(), c.ok) << c.code;
    EXPECT_EQ(a.retryable, c.retryable) << c.code << " retry_info=" << c.with_retry_info;
    EXPECT_EQ(a.throttle, c.with_retry_info ? Millis(2000) : Millis(0)) << c.code;
    if (!c.ok) {
      EXPECT_EQ(static_cast<int>(a.status.code()), c.code);
    }
  }
}

TEST(GrpcAttemptTest, PartialSuccessIsASuccess) {
  std::string resp;
  protowire::Writer w(&resp);
  size_t ps = w.BeginMessage(1);
  w.Varint(1, 3);
  w.Bytes(2, "3 spans had no name");
  w.EndMessage(ps);
  Attempt a = GrpcAttempt(0, "", "", resp);
  EXPECT_TRUE(a.status.ok());
  EXPECT_EQ(a.rejected_spans, 3u);
  EXPECT_EQ(a.rejected_message, "3 spans had no name");
}

TEST(HttpAttemptTest, StatusCodesAsTheCollector) {
  const uint64_t now = 1445412470ull * 1000000000ull;
  struct Case {
    int status;
    const char* retry_after;
    bool ok;
    bool retryable;
    int64_t throttle_ms;
  };
  const Case cases[] = {
      {200, "", true, false, 0},
      {202, "", true, false, 0},
      {400, "", false, false, 0},
      {401, "", false, false, 0},
      {403, "", false, false, 0},
      {404, "", false, false, 0},
      {413, "", false, false, 0},
      {500, "", false, false, 0},
      {501, "", false, false, 0},
      {429, "", false, true, 0},
      {429, "7", false, true, 7000},
      {502, "7", false, true, 0},
      {503, "2", false, true, 2000},
      {504, "", false, true, 0},
      {503, "Wed, 21 Oct 2015 07:28:00 GMT", false, true, 10000},
  };
  for (const Case& c : cases) {
    Attempt a = HttpAttempt(c.status, "text/plain", c.retry_after, "oops", now);
    EXPECT_EQ(a.status.ok(), c.ok) << c.status;
    EXPECT_EQ(a.retryable, c.retryable) << c.status;
    EXPECT_EQ(a.throttle.count(), c.throttle_ms) << c.status << " " << c.retry_after;
  }
  EXPECT_EQ(HttpAttempt(400, "text/plain", "", "", now).status.code(),
            StatusCode::kInvalidArgument);
}

TEST(HttpAttemptTest, BodiesAreReadByContentType) {
  Attempt proto_err = HttpAttempt(400, "application/x-protobuf", "",
                                  receivers::EncodeRpcStatus(3, "span without trace id", 0), 0);
  EXPECT_NE(proto_err.status.message().find("span without trace id"), std::string_view::npos);
  Attempt json_ok =
      HttpAttempt(200, "application/json", "",
                  R"({"partialSuccess":{"rejectedSpans":"2","errorMessage":"bad"}})", 0);
  EXPECT_TRUE(json_ok.status.ok());
  EXPECT_EQ(json_ok.rejected_spans, 2u);
  EXPECT_EQ(json_ok.rejected_message, "bad");
  Attempt json_num =
      HttpAttempt(200, "application/json", "", R"({"partialSuccess":{"rejectedSpans":4}})", 0);
  EXPECT_EQ(json_num.rejected_spans, 4u);
  EXPECT_EQ(HttpAttempt(200, "application/json", "", "{}", 0).rejected_spans, 0u);
}

// --- configuration ---

Result<RetryOptions> ParseRetry(const std::string& text) {
  VV_ASSIGN_OR_RETURN(YAML::Node n, conf::LoadYaml(text));
  return ParseRetryOptions(n, "exporters.otlp.retry_on_failure");
}

TEST(RetryConfigTest, DefaultsAreTheCollectors) {
  Result<RetryOptions> r = ParseRetry("{}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->enabled);
  EXPECT_EQ(r->initial_interval, Millis(5000));
  EXPECT_EQ(r->max_interval, Millis(30000));
  EXPECT_EQ(r->max_elapsed_time, Millis(300000));
  EXPECT_EQ(r->multiplier, 1.5);
  EXPECT_EQ(r->randomization_factor, 0.5);
}

TEST(RetryConfigTest, ParsesAndValidates) {
  Result<RetryOptions> r = ParseRetry(
      "enabled: true\ninitial_interval: 1s\nmax_interval: 10s\nmax_elapsed_time: 0\nmultiplier: 2\n"
      "randomization_factor: 0.1\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->initial_interval, Millis(1000));
  EXPECT_EQ(r->max_elapsed_time, Millis(0));
  EXPECT_EQ(r->multiplier, 2);

  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case bad[] = {
      {"bogus: 1", "retry_on_failure.bogus (line 1): unknown key"},
      {"randomization_factor: 1.5", "randomization_factor"},
      {"multiplier: 0", "'multiplier' must be positive"},
      {"max_interval: 1m\nmax_elapsed_time: 30s",
       "'max_elapsed_time' must not be less than 'max_interval'"},
      {"initial_interval: 10m", "'max_elapsed_time' must not be less than 'initial_interval'"},
      {"initial_interval: soon", "initial_interval"},
  };
  for (const Case& c : bad) {
    Result<RetryOptions> e = ParseRetry(c.yaml);
    ASSERT_FALSE(e.ok()) << c.yaml;
    EXPECT_NE(e.status().message().find(c.error), std::string_view::npos) << e.status().ToString();
  }
  // Disabled: nothing else is validated (as configretry).
  EXPECT_TRUE(ParseRetry("enabled: false\nmultiplier: 0").ok());
}

}  // namespace
}  // namespace vivace::exporters
