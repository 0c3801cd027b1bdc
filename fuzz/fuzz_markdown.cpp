// Fuzzes the markdown plugin's renderer natively, where libFuzzer sees its
// coverage (inside the interpreter, fuzz_bytes_abi cannot steer by it): any
// input renders, without memory errors, undefined behaviour or hangs, to HTML
// whose tags balance.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

extern "C" {
#include "markdown.c"
}

namespace {

// True when every tag the renderer wrote is closed in order (see
// tests/plugins/markdown_test.cpp for the full check on real engines).
bool tags_balance(std::string_view html) {
  std::vector<std::string_view> open;
  for (std::size_t i = html.find('<'); i != std::string_view::npos; i = html.find('<', i + 1)) {
    const std::size_t close = html.find('>', i);
    if (close == std::string_view::npos) return false;
    std::string_view tag = html.substr(i + 1, close - i - 1);
    if (tag == "hr /") continue;
    const bool closing = tag.starts_with('/');
    if (closing) tag.remove_prefix(1);
    tag = tag.substr(0, tag.find(' '));
    if (!closing) {
      open.push_back(tag);
    } else if (open.empty() || open.back() != tag) {
      return false;
    } else {
      open.pop_back();
    }
  }
  return open.empty();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  wp_buf html = wp_buf_new();
  render_document(&html, reinterpret_cast<const char*>(data), static_cast<uint32_t>(size));
  if (!tags_balance(std::string_view(html.data == nullptr ? "" : html.data, html.len))) abort();
  free(html.data);
  return 0;
}
