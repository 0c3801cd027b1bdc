// Reads a whole input file for a plugin call; "-" means stdin.
//
//   auto bytes = read_input("page.md");
//   if (!bytes) return fail(kExitUsage, "run", bytes.error());  // "cannot read 'page.md': ..."
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace warmpool::cli {

std::expected<std::string, std::string> read_input(std::string_view path);

}  // namespace warmpool::cli
