#include "http_metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

namespace warmpool::cli {
namespace {

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", s);
  return buf;
}

}  // namespace

void HttpMetrics::record(unsigned status, std::chrono::nanoseconds elapsed) {
  status = std::clamp(status, kFirstStatus, kLastStatus);
  PerStatus& s = by_status_[status - kFirstStatus];
  s.count.fetch_add(1, std::memory_order_relaxed);
  s.sum_ns.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(elapsed.count(), 0)),
                     std::memory_order_relaxed);
  double seconds = std::chrono::duration<double>(elapsed).count();
  auto bucket = std::ranges::lower_bound(kBuckets, seconds) - kBuckets.begin();
  if (bucket < static_cast<long>(kBuckets.size())) {
    s.buckets[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  }
}

std::uint64_t HttpMetrics::count(unsigned status) const {
  if (status < kFirstStatus || status > kLastStatus) return 0;
  return by_status_[status - kFirstStatus].count.load(std::memory_order_relaxed);
}

std::string HttpMetrics::to_prometheus() const {
  std::string counts =
      "# HELP warmpool_http_requests_total HTTP requests answered, by status code.\n"
      "# TYPE warmpool_http_requests_total counter\n";
  std::string histogram =
      "# HELP warmpool_http_request_duration_seconds Time from a complete request to its "
      "written response, by status code.\n"
      "# TYPE warmpool_http_request_duration_seconds histogram\n";
  for (unsigned status = kFirstStatus; status <= kLastStatus; ++status) {
    const PerStatus& s = by_status_[status - kFirstStatus];
    // Buckets are read before the count so that, under concurrent updates,
    // the +Inf bucket (== count) is never below a finite bucket.
    std::array<std::uint64_t, kBuckets.size()> buckets;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      buckets[i] = s.buckets[i].load(std::memory_order_relaxed);
    }
    std::uint64_t sum_ns = s.sum_ns.load(std::memory_order_relaxed);
    std::uint64_t n = s.count.load(std::memory_order_relaxed);
    if (n == 0) continue;
    const std::string label = "status=\"" + std::to_string(status) + "\"";
    counts += "warmpool_http_requests_total{" + label + "} " + std::to_string(n) + "\n";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += buckets[i];
      histogram += "warmpool_http_request_duration_seconds_bucket{" + label + ",le=\"" +
                   seconds_text(kBuckets[i]) + "\"} " + std::to_string(std::min(cumulative, n)) +
                   "\n";
    }
    histogram += "warmpool_http_request_duration_seconds_bucket{" + label + ",le=\"+Inf\"} " +
                 std::to_string(n) + "\n";
    histogram += "warmpool_http_request_duration_seconds_sum{" + label + "} " +
                 seconds_text(static_cast<double>(sum_ns) / 1e9) + "\n";
    histogram +=
        "warmpool_http_request_duration_seconds_count{" + label + "} " + std::to_string(n) + "\n";
  }
  return counts + histogram;
}

std::string to_prometheus(const HttpServerStats& stats) {
  struct Series {
    const char* name;
    const char* type;
    const char* help;
    const std::atomic<std::uint64_t>& value;
  };
  const Series series[] = {
      {"warmpool_http_connections_accepted_total", "counter", "Connections accepted.",
       stats.connections_accepted},
      {"warmpool_http_connections_open", "gauge", "Connections open now.", stats.connections_open},
      {"warmpool_http_connections_over_cap_total", "counter",
       "Connections closed as soon as accepted: --max-connections were open.",
       stats.connections_over_cap},
      {"warmpool_http_accept_errors_total", "counter",
       "Failed accepts (EMFILE and ENFILE included); the server backs off and retries.",
       stats.accept_errors},
      {"warmpool_http_connections_shed_total", "counter",
       "Pending connections closed because no file descriptor was free.", stats.shed_for_fds},
      {"warmpool_http_connections_timed_out_total", "counter",
       "Connections closed by --header-timeout-ms or --idle-timeout-ms.", stats.timed_out},
      {"warmpool_http_loop_handovers_total", "counter",
       "I/O loops given another thread because a call run inline (--inline-calls) took longer "
       "than 1 ms.",
       stats.loop_handovers},
  };
  std::string out;
  for (const Series& s : series) {
    out += std::string("# HELP ") + s.name + " " + s.help + "\n# TYPE " + s.name + " " + s.type +
           "\n" + s.name + " " + std::to_string(s.value.load(std::memory_order_relaxed)) + "\n";
  }
  out +=
      "# HELP warmpool_http_loop_connections_open Connections open now, by the I/O thread "
      "(event loop) serving them.\n# TYPE warmpool_http_loop_connections_open gauge\n";
  for (std::size_t loop = 0; loop < stats.connections_open_by_loop.size(); ++loop) {
    out += "warmpool_http_loop_connections_open{loop=\"" + std::to_string(loop) + "\"} " +
           std::to_string(stats.connections_open_by_loop[loop].load(std::memory_order_relaxed)) +
           "\n";
  }
  return out;
}

std::string merge_prometheus(std::span<const std::string> texts) {
  struct Family {
    std::string help, type, samples;
  };
  std::vector<std::string> order;
  std::map<std::string, Family, std::less<>> families;
  auto family = [&](std::string_view name) -> Family& {
    auto it = families.find(name);
    if (it == families.end()) {
      order.emplace_back(name);
      it = families.emplace(std::string(name), Family{}).first;
    }
    return it->second;
  };
  for (const std::string& text : texts) {
    std::string_view current;
    std::size_t at = 0;
    while (at < text.size()) {
      const std::size_t end = std::min(text.find('\n', at), text.size());
      const std::string_view line(text.data() + at, end - at);
      at = end + 1;
      if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
        const std::string_view rest = line.substr(7);
        current = rest.substr(0, rest.find(' '));
        std::string& slot = line[2] == 'H' ? family(current).help : family(current).type;
        if (slot.empty()) slot = std::string(line) + "\n";
      } else if (!line.empty() && !current.empty()) {
        family(current).samples += std::string(line) + "\n";
      }
    }
  }
  std::string out;
  for (const std::string& name : order) {
    const Family& f = families.at(name);
    out += f.help + f.type + f.samples;
  }
  return out;
}

}  // namespace warmpool::cli
