#include "options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace warmpool::cli {
namespace {

bool looks_numeric(std::string_view s) {
  return s.size() >= 2 && s[0] == '-' &&
         (std::isdigit(static_cast<unsigned char>(s[1])) != 0 || s[1] == '.');
}

const FlagSpec* find_spec(std::span<const FlagSpec> specs, std::string_view name) {
  auto it = std::ranges::find(specs, name, &FlagSpec::name);
  return it == specs.end() ? nullptr : &*it;
}

}  // namespace

std::expected<ParsedArgs, UsageError> parse_args(std::span<const std::string> args,
                                                 std::span<const FlagSpec> specs) {
  ParsedArgs out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.positionals.insert(out.positionals.end(), args.begin() + static_cast<long>(i) + 1,
                             args.end());
      break;
    }
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    if (arg == "-" || arg.empty() || arg[0] != '-' || looks_numeric(arg)) {
      out.positionals.push_back(arg);
      continue;
    }
    if (!arg.starts_with("--")) {
      return std::unexpected(UsageError{"unknown option '" + arg + "'"});
    }
    std::string_view body = std::string_view(arg).substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = body.find('='); eq != std::string_view::npos) {
      inline_value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    const FlagSpec* spec = find_spec(specs, body);
    if (spec == nullptr) {
      return std::unexpected(UsageError{"unknown option '--" + std::string(body) + "'"});
    }
    std::string value;
    if (spec->value_name.empty()) {
      if (inline_value) {
        return std::unexpected(UsageError{"option '--" + std::string(body) + "' takes no value"});
      }
    } else if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return std::unexpected(UsageError{"option '--" + std::string(body) + "' needs a value (" +
                                        std::string(spec->value_name) + ")"});
    }
    if (!out.values.emplace(std::string(body), std::move(value)).second) {
      return std::unexpected(UsageError{"option '--" + std::string(body) + "' given twice"});
    }
  }
  return out;
}

std::optional<std::string> FlagReader::string(std::string_view name) const {
  auto it = parsed_.values.find(name);
  if (it == parsed_.values.end()) return std::nullopt;
  return it->second;
}

void FlagReader::fail(std::string message) {
  if (!error_) error_ = UsageError{std::move(message)};
}

std::uint64_t FlagReader::u64(std::string_view name, std::uint64_t fallback, std::uint64_t min,
                              std::uint64_t max) {
  auto text = string(name);
  if (!text) return fallback;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || value < min || value > max) {
    fail("--" + std::string(name) + ": expected an integer from " + std::to_string(min) + " to " +
         std::to_string(max) + ", got '" + *text + "'");
    return fallback;
  }
  return value;
}

double FlagReader::number(std::string_view name, double fallback, double min, double max) {
  auto text = string(name);
  if (!text) return fallback;
  double value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || !std::isfinite(value) ||
      value < min || value > max) {
    char lo[32], hi[32];
    // %g-style with 15 digits: limits read as people write them (10000000, not 1e+07).
    auto lo_end = std::to_chars(lo, lo + sizeof lo, min, std::chars_format::general, 15).ptr;
    auto hi_end = std::to_chars(hi, hi + sizeof hi, max, std::chars_format::general, 15).ptr;
    fail("--" + std::string(name) + ": expected a number from " + std::string(lo, lo_end) + " to " +
         std::string(hi, hi_end) + ", got '" + *text + "'");
    return fallback;
  }
  return value;
}

std::string FlagReader::choice(std::string_view name, std::string_view fallback,
                               std::initializer_list<std::string_view> choices) {
  auto text = string(name);
  if (!text) return std::string(fallback);
  if (std::ranges::find(choices, std::string_view(*text)) != choices.end()) return *text;
  std::string list;
  for (auto c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
  fail("--" + std::string(name) + ": expected one of " + list + ", got '" + *text + "'");
  return std::string(fallback);
}

std::optional<std::pair<std::string, std::uint16_t>> FlagReader::endpoint(
    std::string_view name, std::string_view fallback) {
  std::string text = string(name).value_or(std::string(fallback));
  auto colon = text.rfind(':');
  std::uint32_t port = 0;
  if (colon != std::string::npos && colon > 0) {
    const char* first = text.data() + colon + 1;
    const char* last = text.data() + text.size();
    auto [end, ec] = std::from_chars(first, last, port);
    if (ec == std::errc{} && end == last && first != last && port <= 65535) {
      return std::pair{text.substr(0, colon), static_cast<std::uint16_t>(port)};
    }
  }
  fail("--" + std::string(name) + ": expected HOST:PORT (e.g. 127.0.0.1:8080), got '" + text + "'");
  return std::nullopt;
}

}  // namespace warmpool::cli
