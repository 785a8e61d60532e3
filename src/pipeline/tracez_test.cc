#include "pipeline/tracez.h"

#include <gtest/gtest.h>

namespace vivace::pipeline {
namespace {

TEST(TracezTest, BucketsFollowTheZpagesBoundaries) {
  EXPECT_EQ(Tracez::Bucket(0), 0);
  EXPECT_EQ(Tracez::Bucket(9'999), 0);
  EXPECT_EQ(Tracez::Bucket(10'000), 1);
  EXPECT_EQ(Tracez::Bucket(999'999), 2);
  EXPECT_EQ(Tracez::Bucket(1'000'000), 3);
  EXPECT_EQ(Tracez::Bucket(59'000'000'000), 7);
  EXPECT_EQ(Tracez::Bucket(3'600'000'000'000), 8);
}

TEST(TracezTest, RecordsRunningLatencyAndErrors) {
  Tracez t;
  uint64_t a = t.Begin("exporter/otlp/traces");
  uint64_t b = t.Begin("exporter/otlp/traces");
  EXPECT_EQ(t.Snapshot().at("exporter/otlp/traces").running, 2u);
  t.End("exporter/otlp/traces", a, 10, Status::OK());
  t.End("exporter/otlp/traces", b, 5, Unavailable("backend down"));
  auto s = t.Snapshot().at("exporter/otlp/traces");
  EXPECT_EQ(s.running, 0u);
  EXPECT_EQ(s.errors, 1u);
  uint64_t total = 0;
  for (uint64_t n : s.latency) total += n;
  EXPECT_EQ(total, 1u);
  ASSERT_EQ(s.error_samples.size(), 1u);
  EXPECT_NE(s.error_samples[0].error.find("backend down"), std::string::npos);
  std::string html = t.Html("exporter/otlp/traces", 2, 0);
  EXPECT_NE(html.find("backend down"), std::string::npos);
  EXPECT_NE(html.find("zspanname=exporter/otlp/traces"), std::string::npos);
}

TEST(TracezTest, KeepsOnlyTheLatestSamples) {
  Tracez t;
  for (int i = 0; i < 20; ++i) t.End("x", t.Begin("x"), static_cast<uint64_t>(i), Status::OK());
  auto s = t.Snapshot().at("x");
  size_t kept = 0;
  for (const auto& q : s.samples) kept += q.size();
  EXPECT_LE(kept, Tracez::kSamplesPerBucket * Tracez::kBuckets);
  bool latest_kept = false;
  uint64_t counted = 0;
  for (int b = 0; b < Tracez::kBuckets; ++b) {
    counted += s.latency[b];
    for (const auto& sample : s.samples[b]) latest_kept |= sample.items == 19;
  }
  EXPECT_EQ(counted, 20u);
  EXPECT_TRUE(latest_kept);
}

}  // namespace
}  // namespace vivace::pipeline
