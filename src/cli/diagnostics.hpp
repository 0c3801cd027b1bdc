// How every `warmpool` subcommand reports errors: one line on stderr,
// prefixed with the subcommand, then the exit code to return.
//
//   if (!module) return fail(kExitUsage, "run", module.error());
#pragma once

#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "exit_code.hpp"

namespace warmpool::cli {

struct UsageError {
  std::string message;
};

template <class Message>
int fail(int exit_code, std::string_view command, const Message& message) {
  std::ostringstream line;
  line << "warmpool " << command << ": " << message;
  std::cerr << line.str() << '\n';
  return exit_code;
}

// A loader error about `file`, guaranteed to name it (some loader messages
// only carry an offset: "0000009: error: unable to read u32 leb128").
template <class Error>
int fail_loading(int exit_code, std::string_view command, std::string_view file,
                 const Error& error) {
  std::ostringstream text;
  text << error;
  std::string message = text.str();
  std::string_view base = file.substr(file.find_last_of('/') + 1);
  if (message.find(base) == std::string::npos) message = std::string(file) + ": " + message;
  return fail(exit_code, command, message);
}

inline int usage_error(std::string_view command, const UsageError& error) {
  std::cerr << "warmpool " << command << ": " << error.message << "\nTry 'warmpool " << command
            << " --help'.\n";
  return kExitUsage;
}

}  // namespace warmpool::cli
