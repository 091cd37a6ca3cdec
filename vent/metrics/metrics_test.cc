#include "vent/metrics/metrics.h"

#include "gtest/gtest.h"

namespace vent::metrics {
namespace {

TEST(MetricsTest, RendersPrometheusText) {
  Registry r;
  r.GetCounter("vent_x_total", "Things.", {{"result", "ok"}})->Add(3);
  r.GetCounter("vent_x_total", "Things.", {{"result", "error"}})->Add();
  EXPECT_EQ(
      r.GetCounter("vent_x_total", "Things.", {{"result", "ok"}})->value(), 3u);
  r.GetGauge("vent_g", "A gauge.")->Set(-2);
  Histogram* h = r.GetHistogram("vent_lat_seconds", "Latency.", {0.1, 1});
  h->Observe(0.05);
  h->Observe(0.5);
  h->Observe(5);
  std::string text = r.Render();
  EXPECT_NE(text.find("# TYPE vent_x_total counter\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("vent_x_total{result=\"ok\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("vent_x_total{result=\"error\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("vent_g -2\n"), std::string::npos);
  EXPECT_NE(text.find("vent_lat_seconds_bucket{le=\"0.1\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vent_lat_seconds_bucket{le=\"1\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("vent_lat_seconds_bucket{le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("vent_lat_seconds_count 3\n"), std::string::npos);
}

TEST(MetricsTest, ProcessMetrics) {
  Registry r;
  RegisterProcessMetrics(r);
  std::string text = r.Render();
  EXPECT_NE(text.find("process_resident_memory_bytes "), std::string::npos);
  EXPECT_EQ(text.find("process_resident_memory_bytes 0\n"), std::string::npos);
}

}  // namespace
}  // namespace vent::metrics
