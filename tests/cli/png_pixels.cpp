#include "png_pixels.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdlib>

namespace warmpool::cli::test {
namespace {

std::uint32_t be32(const std::string& s, std::size_t at) {
  auto b = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i]));
  };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

int paeth(int a, int b, int c) {
  int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

}  // namespace

std::size_t Image::count_rgb(std::uint8_t r, std::uint8_t g, std::uint8_t b) const {
  std::uint32_t want = std::uint32_t{r} << 16 | std::uint32_t{g} << 8 | b;
  return static_cast<std::size_t>(std::ranges::count(rgb, want));
}

std::expected<Image, std::string> decode_png(const std::string& bytes) {
  if (bytes.size() < 8 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) {
    return std::unexpected(std::string("not a PNG"));
  }
  Image img;
  int colour_type = -1, bit_depth = 0, interlace = 0;
  std::string idat;
  for (std::size_t at = 8; at + 12 <= bytes.size();) {
    std::uint32_t len = be32(bytes, at);
    std::string type = bytes.substr(at + 4, 4);
    if (at + 12 + len > bytes.size()) return std::unexpected(std::string("truncated chunk"));
    if (type == "IHDR") {
      img.width = be32(bytes, at + 8);
      img.height = be32(bytes, at + 12);
      bit_depth = static_cast<unsigned char>(bytes[at + 16]);
      colour_type = static_cast<unsigned char>(bytes[at + 17]);
      interlace = static_cast<unsigned char>(bytes[at + 20]);
    } else if (type == "IDAT") {
      idat += bytes.substr(at + 8, len);
    }
    at += 12 + len;
  }
  if (bit_depth != 8 || (colour_type != 2 && colour_type != 6) || interlace != 0) {
    return std::unexpected("unsupported PNG (depth " + std::to_string(bit_depth) +
                           ", colour type " + std::to_string(colour_type) + ")");
  }
  const std::size_t bpp = colour_type == 6 ? 4 : 3;
  const std::size_t stride = img.width * bpp;
  std::vector<unsigned char> raw((stride + 1) * img.height);
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) !=
          Z_OK ||
      raw_len != raw.size()) {
    return std::unexpected(std::string("bad image data"));
  }
  std::vector<unsigned char> prev(stride, 0), cur(stride);
  img.rgb.reserve(std::size_t{img.width} * img.height);
  for (std::uint32_t y = 0; y < img.height; ++y) {
    const unsigned char* row = raw.data() + y * (stride + 1);
    int filter = row[0];
    for (std::size_t i = 0; i < stride; ++i) {
      int x = row[1 + i];
      int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      switch (filter) {
        case 0: break;
        case 1: x += a; break;
        case 2: x += b; break;
        case 3: x += (a + b) / 2; break;
        case 4: x += paeth(a, b, c); break;
        default: return std::unexpected("bad filter " + std::to_string(filter));
      }
      cur[i] = static_cast<unsigned char>(x);
    }
    for (std::uint32_t px = 0; px < img.width; ++px) {
      const unsigned char* p = cur.data() + px * bpp;
      img.rgb.push_back(std::uint32_t{p[0]} << 16 | std::uint32_t{p[1]} << 8 | p[2]);
    }
    std::swap(prev, cur);
  }
  return img;
}

}  // namespace warmpool::cli::test
