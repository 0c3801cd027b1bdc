// The files a subcommand reads or writes, checked before any work starts so
// a bad path is a usage error (exit 2) naming the file, never a crash or a
// benchmark that runs for minutes and then cannot save its report.
//
//   if (auto bad = check_readable_file(plugin, "PLUGIN")) return fail(kExitUsage, "run", *bad);
//   // "PLUGIN: cannot read 'x.wasm': is a directory"
//   auto bytes = read_input("page.md");
//   if (!bytes) return fail(kExitUsage, "run", bytes.error());
//   // "--input-file: cannot read 'page.md': ..."
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace warmpool::cli {

// Why `path` cannot be read as a file, or nullopt if it can. `what` names the
// argument it came from and starts the message.
std::optional<std::string> check_readable_file(std::string_view path, std::string_view what);

// Why `path` cannot be created or overwritten (missing directory, a
// directory, no permission), or nullopt if it can. Creates nothing.
std::optional<std::string> check_writable_file(std::string_view path, std::string_view what);

// A whole input file for a plugin call; "-" means stdin. `what` names the
// option it came from in messages.
std::expected<std::string, std::string> read_input(std::string_view path,
                                                   std::string_view what = "--input-file");

}  // namespace warmpool::cli
