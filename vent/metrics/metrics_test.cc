#include "vent/metrics/metrics.h"

#include <cstdlib>
#include <limits>

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
  // CPU seconds only grow: a counter. Memory and fds are gauges.
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE process_resident_memory_bytes gauge\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE process_open_fds gauge\n"), std::string::npos);
}

TEST(MetricsTest, FloatsKeepFullPrecision) {
  EXPECT_EQ(Registry::FormatDouble(12345.678901234), "12345.678901234");
  EXPECT_EQ(Registry::FormatDouble(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(Registry::FormatDouble(18874368), "18874368");
  EXPECT_EQ(Registry::FormatDouble(1234567.25), "1234567.25");
  EXPECT_EQ(Registry::FormatDouble(0.0001), "0.0001");
  EXPECT_EQ(Registry::FormatDouble(0.00025), "0.00025");
  EXPECT_EQ(Registry::FormatDouble(1e-7), "1e-07");
  EXPECT_EQ(Registry::FormatDouble(1.5e21), "1.5e+21");
  EXPECT_EQ(Registry::FormatDouble(-2.5), "-2.5");
  EXPECT_EQ(Registry::FormatDouble(0), "0");
  EXPECT_EQ(Registry::FormatDouble(std::numeric_limits<double>::quiet_NaN()),
            "NaN");
  EXPECT_EQ(Registry::FormatDouble(-std::numeric_limits<double>::infinity()),
            "-Inf");
  // Every printed value reads back as the same double.
  for (double v : {1.0 / 3, 2.0 / 3 * 1e10, 123456789.123456789, 9.87654e-5,
                   4.9e-324, 1.7976931348623157e308}) {
    EXPECT_EQ(std::strtod(Registry::FormatDouble(v).c_str(), nullptr), v)
        << Registry::FormatDouble(v);
  }

  Registry r;
  r.AddCallbackGauge("vent_f", "A float.", [] { return 12345.678901234; });
  r.AddCallbackCounter("vent_c_total", "A float counter.",
                       [] { return 98765.4321; });
  Histogram* h = r.GetHistogram("vent_h_seconds", "Tiny.", {0.0001, 1});
  h->Observe(0.0000012);
  h->Observe(0.0000034);
  std::string text = r.Render();
  EXPECT_NE(text.find("vent_f 12345.678901234\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE vent_c_total counter\nvent_c_total 98765.4321\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vent_h_seconds_bucket{le=\"0.0001\"} 2\n"),
            std::string::npos)
      << text;
  // The sum is not rounded to microseconds.
  EXPECT_NE(text.find("vent_h_seconds_sum 4.6e-06\n"), std::string::npos)
      << text;
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(Registry::EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  // Only \, " and newline are special in the text format: everything else
  // (tabs, carriage returns, braces, commas, UTF-8) is written as is.
  EXPECT_EQ(Registry::EscapeLabelValue(""), "");
  EXPECT_EQ(Registry::EscapeLabelValue("\\\\"), "\\\\\\\\");
  EXPECT_EQ(Registry::EscapeLabelValue("\n\n"), "\\n\\n");
  EXPECT_EQ(Registry::EscapeLabelValue("t\tr\r{a=\"b\",c}=\xc3\xa9"),
            "t\tr\r{a=\\\"b\\\",c}=\xc3\xa9");
  // A trailing backslash cannot escape the closing quote.
  EXPECT_EQ(Registry::EscapeLabelValue("end\\"), "end\\\\");
  Registry r;
  r.GetCounter("vent_e_total", "Escaped.", {{"path", "C:\\x \"q\"\nz"}})
      ->Add(2);
  std::string text = r.Render();
  EXPECT_NE(text.find("vent_e_total{path=\"C:\\\\x \\\"q\\\"\\nz\"} 2\n"),
            std::string::npos)
      << text;
  // The same raw value finds the same series (escaping is not applied twice).
  EXPECT_EQ(
      r.GetCounter("vent_e_total", "Escaped.", {{"path", "C:\\x \"q\"\nz"}})
          ->value(),
      2u);
  // Values that differ only before escaping stay different series.
  r.GetCounter("vent_e_total", "Escaped.", {{"path", "a\\nb"}})->Add(5);
  r.GetCounter("vent_e_total", "Escaped.", {{"path", "a\nb"}})->Add(7);
  text = r.Render();
  EXPECT_NE(text.find("vent_e_total{path=\"a\\\\nb\"} 5\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("vent_e_total{path=\"a\\nb\"} 7\n"), std::string::npos)
      << text;
  // Several labels, and a histogram's `le` after escaped labels.
  Histogram* h = r.GetHistogram("vent_eh_seconds", "Escaped histogram.", {1},
                                {{"a", "x\"y"}, {"b", "\\"}});
  h->Observe(0.5);
  text = r.Render();
  EXPECT_NE(
      text.find("vent_eh_seconds_bucket{a=\"x\\\"y\",b=\"\\\\\",le=\"1\"} 1\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("vent_eh_seconds_count{a=\"x\\\"y\",b=\"\\\\\"} 1\n"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace vent::metrics
