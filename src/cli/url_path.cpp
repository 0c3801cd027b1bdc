#include "url_path.hpp"

namespace warmpool::cli {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::expected<std::string, std::string> percent_decode(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (std::size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out += segment[i];
      continue;
    }
    const std::string_view escape = segment.substr(i, 3);
    const int high = escape.size() == 3 ? hex_digit(escape[1]) : -1;
    const int low = escape.size() == 3 ? hex_digit(escape[2]) : -1;
    if (high < 0 || low < 0) {
      return std::unexpected(
          (escape.size() < 3 ? "truncated percent-escape '" : "malformed percent-escape '") +
          std::string(escape) + "' at offset " + std::to_string(i) +
          " (expected '%' and two hex digits)");
    }
    if (high == 0 && low == 0) {
      return std::unexpected("percent-escape '%00' at offset " + std::to_string(i) +
                             " decodes to a NUL byte");
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

}  // namespace warmpool::cli
