// The latency chart must render in a real browser: headless Chromium takes a
// screenshot, and the test checks the pixels (not blank, both mode colours drawn).
#include "svg_report.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "png_pixels.hpp"
#include "subprocess.hpp"

namespace warmpool::cli {
namespace {

namespace fs = std::filesystem;

LatencySummary ramp(int from_us, int to_us, int n) {
  LatencySamples s;
  for (int i = 0; i < n; ++i) s.add(std::chrono::microseconds(from_us + (to_us - from_us) * i / n));
  return LatencySummary(std::move(s));
}

std::optional<std::string> find_chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (::access(p, X_OK) == 0) return std::string(p);
  }
  return std::nullopt;
}

TEST(SvgReport, WellFormedWithLabels) {
  auto pool = ramp(20, 200, 5000);
  auto none = ramp(800, 9000, 5000);
  std::string svg =
      render_latency_chart("demo <chart>", {{"pool (reuse)", &pool}, {"no pool", &none}});
  EXPECT_TRUE(svg.starts_with("<?xml"));
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("demo &lt;chart&gt;"), std::string::npos);
  EXPECT_NE(svg.find(">pool (reuse)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">no pool</text>"), std::string::npos);
  EXPECT_NE(svg.find(">p99.9</text>"), std::string::npos);  // 5000 samples support 3 nines
  EXPECT_EQ(svg.find(">p99.99</text>"), std::string::npos);
  EXPECT_NE(svg.find(">10.0 ms</text>"), std::string::npos);
}

TEST(SvgReport, RendersInHeadlessChromium) {
  auto chromium = find_chromium();
  if (!chromium) GTEST_SKIP() << "chromium is not installed";
  auto pool = ramp(20, 200, 5000);
  auto none = ramp(800, 9000, 5000);
  fs::path dir = fs::temp_directory_path() / ("warmpool-svg-" + std::to_string(::getpid()));
  fs::create_directories(dir / "profile");
  fs::path svg_path = dir / "chart.svg", png_path = dir / "shot.png";
  std::ofstream(svg_path) << render_latency_chart("warmpool bench",
                                                  {{"pool", &pool}, {"none", &none}});

  auto r = test::run_process(
      {*chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
       "--disable-background-networking", "--disable-component-update", "--disable-sync",
       "--user-data-dir=" + (dir / "profile").string(), "--screenshot=" + png_path.string(),
       "--window-size=800,600", "file://" + svg_path.string()},
      "", std::chrono::seconds(90));
  ASSERT_FALSE(r.timed_out) << r.err;
  ASSERT_TRUE(fs::exists(png_path)) << "chromium wrote no screenshot: " << r.err;
  std::ifstream in(png_path, std::ios::binary);
  std::string png{std::istreambuf_iterator<char>(in), {}};
  auto img = test::decode_png(png);
  ASSERT_TRUE(img.has_value()) << img.error();
  EXPECT_EQ(img->width, 800u);
  EXPECT_EQ(img->height, 600u);
  EXPECT_GT(img->distinct_colours(), 10u);  // white page, grid, text and two lines
  // Each mode's line is drawn in its own colour (#1f77b4, #d62728), legend included.
  EXPECT_GT(img->count_rgb(0x1f, 0x77, 0xb4), 100u);
  EXPECT_GT(img->count_rgb(0xd6, 0x27, 0x28), 100u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace warmpool::cli
