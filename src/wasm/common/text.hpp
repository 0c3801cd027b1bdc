// wasm/common/text.hpp — internal: building error messages without <format>
// (g++ 12's libstdc++ does not ship it).
//
//   internal::cat(name, ": export '", export_name, "' not found (", count, " exports)");
#pragma once

#include <concepts>
#include <string>
#include <string_view>

namespace warmpool::wasm::internal {

inline void append_text(std::string& out, std::string_view text) {
  out.append(text);
}

template <std::integral T>
requires(!std::same_as<T, char> && !std::same_as<T, bool>) void append_text(std::string& out,
                                                                            T number) {
  out.append(std::to_string(number));
}

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (append_text(out, parts), ...);
  return out;
}

}  // namespace warmpool::wasm::internal
