// warmpool/internal/prometheus_text.hpp — implementation detail of
// PoolMetrics::to_prometheus: writes the Prometheus text exposition format.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "warmpool/latency_histogram.hpp"

namespace warmpool::internal {

class PrometheusText {
 public:
  PrometheusText(std::string prefix, std::string pool_name)
      : prefix_(std::move(prefix)), label_("pool=\"" + escape(pool_name) + "\"") {}

  void counter(std::string_view name, std::string_view help, std::uint64_t value) {
    const std::string full = prefix_ + std::string(name) + "_total";
    header(full, help, "counter");
    sample(full, label_, std::to_string(value));
  }
  void gauge(std::string_view name, std::string_view help, std::uint64_t value) {
    const std::string full = prefix_ + std::string(name);
    header(full, help, "gauge");
    sample(full, label_, std::to_string(value));
  }
  void histogram(std::string_view name, std::string_view help, const LatencyHistogram& h) {
    const std::string full = prefix_ + std::string(name);
    header(full, help, "histogram");
    // Read the buckets once and derive _count from them, so a histogram read
    // while being recorded into stays internally consistent.
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
      cumulative += h.bucket(i);
      const std::string le = i < LatencyHistogram::kBoundsNs.size()
                                 ? seconds(LatencyHistogram::kBoundsNs[i])
                                 : std::string("+Inf");
      sample(full + "_bucket", label_ + ",le=\"" + le + "\"", std::to_string(cumulative));
    }
    sample(full + "_sum", label_, seconds(h.sum().count()));
    sample(full + "_count", label_, std::to_string(cumulative));
  }

  std::string str() && { return std::move(out_); }

 private:
  static std::string escape(std::string_view s) {
    std::string r;
    for (char c : s) {
      if (c == '\\')
        r += "\\\\";
      else if (c == '"')
        r += "\\\"";
      else if (c == '\n')
        r += "\\n";
      else
        r += c;
    }
    return r;
  }
  // Exact decimal seconds from integer nanoseconds (no floating-point noise
  // such as 9.9999999999999995e-07 in `le` labels).
  static std::string seconds(std::int64_t ns) {
    if (ns < 0) ns = 0;
    std::string r = std::to_string(ns / 1'000'000'000);
    std::string frac = std::to_string(ns % 1'000'000'000);
    frac.insert(0, 9 - frac.size(), '0');
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    if (!frac.empty()) r += "." + frac;
    return r;
  }
  void header(const std::string& full, std::string_view help, std::string_view type) {
    out_ += "# HELP " + full + " " + std::string(help) + "\n";
    out_ += "# TYPE " + full + " " + std::string(type) + "\n";
  }
  void sample(const std::string& name, const std::string& labels, const std::string& value) {
    out_ += name + "{" + labels + "} " + value + "\n";
  }

  std::string prefix_;
  std::string label_;
  std::string out_;
};

}  // namespace warmpool::internal
