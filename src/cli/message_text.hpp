// Building messages from pieces. g++ 12 has no <format>, and at -O3 it warns
// (-Wrestrict, wrongly) about some `"literal" + std::string + ...` chains.
//
//   cat("--report: cannot write '", path, "': ", why)
#pragma once

#include <string>
#include <string_view>

namespace warmpool::cli {

template <class... Pieces>
std::string cat(const Pieces&... pieces) {
  std::string out;
  (out.append(std::string_view(pieces)), ...);
  return out;
}

}  // namespace warmpool::cli
