// A latency-percentile chart as a standalone SVG file (`warmpool bench
// --report FILE.svg`): percentile on x (spread so the tail gets room: 50, 90,
// 99, 99.9 are equally spaced), latency on a log y axis, one line per mode.
//
//   std::vector<ChartSeries> series{{"pool (reuse)", &pool_summary},
//                                   {"no pool", &fresh_summary}};
//   std::string svg = render_latency_chart("markdown.wasm: render", series);
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "latency_stats.hpp"

namespace warmpool::cli {

struct ChartSeries {
  std::string name;
  const LatencySummary* latencies;
};

std::string render_latency_chart(std::string_view title, const std::vector<ChartSeries>& series);

}  // namespace warmpool::cli
