#include "svg_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace warmpool::cli {
namespace {

constexpr double kWidth = 800, kHeight = 500;
constexpr double kLeft = 80, kRight = 30, kTop = 60, kBottom = 70;
constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"};

// Percentile -> "nines": 50 -> 0.3, 90 -> 1, 99 -> 2, 99.9 -> 3.
double nines(double p) {
  return -std::log10(1.0 - p / 100.0);
}
double percentile_at(double n) {
  return 100.0 * (1.0 - std::pow(10.0, -n));
}

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string latency_label(double us) {
  if (us >= 1e6) return fmt(us / 1e6) + " s";
  if (us >= 1e3) return fmt(us / 1e3) + " ms";
  if (us >= 1) return fmt(us) + " µs";
  return fmt(us * 1e3) + " ns";
}

}  // namespace

std::string render_latency_chart(std::string_view title, const std::vector<ChartSeries>& series) {
  std::size_t max_count = 1;
  double lo_us = 1e300, hi_us = 0;
  for (const auto& s : series) {
    if (s.latencies->count() == 0) continue;
    max_count = std::max(max_count, s.latencies->count());
    lo_us = std::min(lo_us, std::max(s.latencies->percentile_us(0), 0.001));
    hi_us = std::max(hi_us, s.latencies->max_us());
  }
  if (hi_us == 0) lo_us = 1, hi_us = 10;
  // Only plot as far into the tail as the samples can support.
  double x_max = std::clamp(std::floor(std::log10(static_cast<double>(max_count))), 1.0, 4.0);
  double y_lo = std::floor(std::log10(lo_us)), y_hi = std::ceil(std::log10(hi_us));
  if (y_hi <= y_lo) y_hi = y_lo + 1;

  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto x_of = [&](double n) { return kLeft + n / x_max * plot_w; };
  auto y_of = [&](double us) {
    double l = std::log10(std::max(us, 0.001));
    return kTop + plot_h - (l - y_lo) / (y_hi - y_lo) * plot_h;
  };

  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
      << "\" viewBox=\"0 0 " << kWidth << ' ' << kHeight
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << kWidth / 2 << "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">"
      << escape(title) << "</text>\n";

  // Grid and axis labels.
  svg << "<g stroke=\"#ddd\">\n";
  for (double d = y_lo; d <= y_hi; d += 1) {
    svg << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + plot_w << "\" y1=\""
        << y_of(std::pow(10, d)) << "\" y2=\"" << y_of(std::pow(10, d)) << "\"/>\n";
  }
  const double ticks[] = {0, 50, 90, 99, 99.9, 99.99};
  for (double p : ticks) {
    if (nines(p) > x_max + 1e-9) break;
    svg << "<line x1=\"" << x_of(nines(p)) << "\" x2=\"" << x_of(nines(p)) << "\" y1=\"" << kTop
        << "\" y2=\"" << kTop + plot_h << "\"/>\n";
  }
  svg << "</g>\n<g fill=\"#333\">\n";
  for (double d = y_lo; d <= y_hi; d += 1) {
    svg << "<text x=\"" << kLeft - 6 << "\" y=\"" << y_of(std::pow(10, d)) + 4
        << "\" text-anchor=\"end\">" << latency_label(std::pow(10, d)) << "</text>\n";
  }
  for (double p : ticks) {
    if (nines(p) > x_max + 1e-9) break;
    char label[16];
    std::snprintf(label, sizeof label, "p%g", p);
    svg << "<text x=\"" << x_of(nines(p)) << "\" y=\"" << kTop + plot_h + 18
        << "\" text-anchor=\"middle\">" << label << "</text>\n";
  }
  svg << "<text x=\"" << kLeft + plot_w / 2 << "\" y=\"" << kHeight - 20
      << "\" text-anchor=\"middle\">percentile</text>\n"
      << "<text transform=\"translate(20," << kTop + plot_h / 2
      << ") rotate(-90)\" text-anchor=\"middle\">latency (log scale)</text>\n</g>\n"
      << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << plot_w << "\" height=\""
      << plot_h << "\" fill=\"none\" stroke=\"#333\"/>\n";

  // One polyline per mode, sampled evenly in "nines".
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const char* colour = kColours[i % std::size(kColours)];
    if (s.latencies->count() > 0) {
      svg << "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" << colour << "\" points=\"";
      constexpr int kSteps = 200;
      for (int k = 0; k <= kSteps; ++k) {
        double n = x_max * k / kSteps;
        svg << fmt(x_of(n)) << ',' << fmt(y_of(s.latencies->percentile_us(percentile_at(n))))
            << ' ';
      }
      svg << "\"/>\n";
    }
    double ly = kTop + 16 + 18 * static_cast<double>(i);
    svg << "<line x1=\"" << kLeft + 12 << "\" x2=\"" << kLeft + 36 << "\" y1=\"" << ly - 4
        << "\" y2=\"" << ly - 4 << "\" stroke-width=\"3\" stroke=\"" << colour << "\"/>\n"
        << "<text x=\"" << kLeft + 42 << "\" y=\"" << ly << "\">" << escape(s.name) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace warmpool::cli
