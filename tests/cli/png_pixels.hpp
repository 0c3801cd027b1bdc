// Test helper: decodes an 8-bit RGB/RGBA PNG (what headless Chromium's
// --screenshot writes) so a test can check that a rendered chart is not blank.
//
//   auto img = decode_png(bytes);
//   ASSERT_TRUE(img) << img.error();
//   EXPECT_GT(img->count_rgb(0x1f, 0x77, 0xb4), 50u);
#pragma once

#include <cstdint>
#include <expected>
#include <set>
#include <string>
#include <vector>

namespace warmpool::cli::test {

struct Image {
  std::uint32_t width = 0, height = 0;
  std::vector<std::uint32_t> rgb;  // 0xRRGGBB per pixel, row-major

  std::size_t distinct_colours() const { return std::set(rgb.begin(), rgb.end()).size(); }
  std::size_t count_rgb(std::uint8_t r, std::uint8_t g, std::uint8_t b) const;
};

std::expected<Image, std::string> decode_png(const std::string& bytes);

}  // namespace warmpool::cli::test
