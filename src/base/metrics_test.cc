#include "base/metrics.h"

#include <gtest/gtest.h>

namespace vivace {
namespace {

TEST(MetricsTest, ExposesCountersAndGaugesGroupedByName) {
  MetricsRegistry reg;
  Counter* grpc = reg.GetCounter("otelcol_receiver_accepted_spans_total", "Spans accepted.",
                                 {{"receiver", "otlp"}, {"transport", "grpc"}});
  Counter* http = reg.GetCounter("otelcol_receiver_accepted_spans_total", "Spans accepted.",
                                 {{"receiver", "otlp"}, {"transport", "http"}});
  EXPECT_EQ(grpc, reg.GetCounter("otelcol_receiver_accepted_spans_total", "Spans accepted.",
                                 {{"receiver", "otlp"}, {"transport", "grpc"}}));
  grpc->Add(3);
  http->Add(4);
  reg.AddGauge("vivace_live_traces", "Live traces.", {}, [] { return 7.0; });
  std::string text = reg.Expose();
  EXPECT_NE(text.find("# TYPE otelcol_receiver_accepted_spans_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("otelcol_receiver_accepted_spans_total{receiver=\"otlp\",transport=\"grpc\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("vivace_live_traces 7\n"), std::string::npos);
  // One HELP line per name.
  EXPECT_EQ(text.find("# HELP otelcol_receiver_accepted_spans_total"),
            text.rfind("# HELP otelcol_receiver_accepted_spans_total"));
  EXPECT_EQ(reg.CounterValue("otelcol_receiver_accepted_spans_total"), 7u);
  EXPECT_EQ(reg.CounterValue("otelcol_receiver_accepted_spans_total", {{"transport", "http"}}), 4u);
}

}  // namespace
}  // namespace vivace
