#include "options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iostream>
#include <ranges>

#include "exit_code.hpp"

namespace warmpool::cli {
namespace {

// "Usage:" first, then the description, the arguments, the flags by group
// with one blank line between groups, and the footer.
class CommandFormatter : public CLI::Formatter {
 public:
  explicit CommandFormatter(std::string usage) : usage_(std::move(usage)) {
    column_width(26);
    label("Positionals", "Arguments");
  }
  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
    std::string out = "Usage: " + usage_ + "\n\n" + app->get_description();
    out += make_positionals(app);
    for (const std::string& group : app->get_groups()) {
      auto options = app->get_options([&group](const CLI::Option* option) {
        return option->get_group() == group && option->nonpositional();
      });
      if (!group.empty() && !options.empty()) out += make_group(group, false, options);
    }
    return out + "\n" + make_footer(app);
  }

 private:
  std::string usage_;
};

bool is_number_with_leading_dot(std::string_view arg) {
  return arg.size() >= 3 && arg[0] == '-' && arg[1] == '.' &&
         std::isdigit(static_cast<unsigned char>(arg[2])) != 0;
}

bool takes_value(const CLI::App& app, std::string_view arg) {
  if (!arg.starts_with("--") || arg.find('=') != std::string_view::npos) return false;
  const CLI::Option* option = app.get_option_no_throw(std::string(arg));
  return option != nullptr && option->get_expected_max() > 0;
}

// CLI11 already takes "-5" and "-1.5" as positionals (no flag here starts
// with a digit) but reads "-.5" as an unknown short flag; "-0.5" is the same
// number for an export argument. A flag's value ("--input -.5") stays as is.
std::vector<std::string> with_numbers_spelled_out(const CLI::App& app,
                                                  std::span<const std::string> args) {
  std::vector<std::string> out(args.begin(), args.end());
  for (std::size_t i = 0; i < out.size() && out[i] != "--"; ++i) {
    if (is_number_with_leading_dot(out[i]) && !(i > 0 && takes_value(app, out[i - 1]))) {
      out[i].insert(1, "0");
    }
  }
  return out;
}

// "--json=yes": CLI11 would read a value into a boolean flag ("--json=false"
// turns it off); here a flag that takes no value says so, as before CLI11.
std::optional<std::string> value_given_to_flag(const CLI::App& app,
                                               std::span<const std::string> args) {
  for (const std::string& arg : args) {
    if (arg == "--") break;
    const auto eq = arg.find('=');
    if (!arg.starts_with("--") || eq == std::string::npos) continue;
    const std::string name = arg.substr(0, eq);
    const CLI::Option* option = app.get_option_no_throw(name);
    if (option != nullptr && option->get_expected_max() == 0) {
      return "option '" + name + "' takes no value";
    }
  }
  return std::nullopt;
}

std::string describe(const CLI::ParseError& error, const CLI::App& app) {
  const std::string message = error.what();
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr &&
      message.ends_with("missing")) {
    return message.substr(0, message.find(':')) + ": needs a value";  // not "1 required N missing"
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr) {
    const std::vector<std::string> extras = app.remaining();
    if (!extras.empty()) {
      const std::string& first = extras.front();
      return first.starts_with('-') && first.size() > 1 ? "unknown option '" + first + "'"
                                                        : "unexpected argument '" + first + "'";
    }
  }
  return message;
}

std::string format_limit(double value) {
  // %g-style with 15 digits: limits read as people write them (10000000, not 1e+07).
  char text[32];
  auto end = std::to_chars(text, text + sizeof text, value, std::chars_format::general, 15).ptr;
  return std::string(text, end);
}

}  // namespace

void configure_command(CLI::App& app, CommandHelp help) {
  app.description(std::move(help.description));
  app.footer(std::move(help.footer));
  app.formatter(std::make_shared<CommandFormatter>(std::move(help.usage)));
  app.set_help_flag("-h,--help", "show this help");
  // A repeated flag is reported by parse_command; CLI11 would keep the last.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

std::optional<int> parse_command(CLI::App& app, std::string_view command,
                                 std::span<const std::string> args) {
  if (auto message = value_given_to_flag(app, args)) return usage_error(command, {*message});
  std::vector<std::string> reversed = with_numbers_spelled_out(app, args);
  std::ranges::reverse(reversed);  // CLI11 takes them last-first
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return kExitOk;
  } catch (const CLI::ParseError& error) {
    return usage_error(command, {describe(error, app)});
  }
  for (const CLI::Option* option : app.get_options()) {
    const bool repeatable = option->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
    if (!option->get_positional() && !repeatable && option->count() > 1) {
      return usage_error(command, {"option '" + option->get_name() + "' given twice"});
    }
  }
  return std::nullopt;
}

CLI::Option* add_repeatable(CLI::App& app, const std::string& name,
                            std::vector<std::string>& values, const std::string& description) {
  return app.add_option(name, values, description)
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

bool given(const CLI::App& app, std::string_view flag) {
  return app.count(std::string(flag)) > 0;
}

std::optional<UsageError> excluding_each_other(const CLI::App& app, std::string_view flag,
                                               std::initializer_list<std::string_view> others) {
  if (!given(app, flag)) return std::nullopt;
  for (std::string_view other : others) {
    if (given(app, other)) {
      return UsageError{std::string(flag) + " and " + std::string(other) + " exclude each other"};
    }
  }
  return std::nullopt;
}

std::expected<std::uint64_t, std::string> parse_integer(std::string_view text, std::uint64_t min,
                                                        std::uint64_t max) {
  std::uint64_t value = 0;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(text.data(), last, value);
  if (ec != std::errc{} || end != last || value < min || value > max) {
    return std::unexpected("expected an integer from " + std::to_string(min) + " to " +
                           std::to_string(max) + ", got '" + std::string(text) + "'");
  }
  return value;
}

CLI::Validator integer_in(std::uint64_t min, std::uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& text) {
        auto value = parse_integer(text, min, max);
        return value ? std::string() : value.error();
      },
      "");
}

CLI::Validator number_in(double min, double max) {
  return CLI::Validator(
      [min, max](std::string& text) {
        double value = 0;
        const char* last = text.data() + text.size();
        auto [end, ec] = std::from_chars(text.data(), last, value);
        if (ec == std::errc{} && end == last && std::isfinite(value) && value >= min &&
            value <= max) {
          return std::string();
        }
        return "expected a number from " + format_limit(min) + " to " + format_limit(max) +
               ", got '" + text + "'";
      },
      "");
}

CLI::Validator one_of(std::vector<std::string> choices) {
  return CLI::Validator(
      [choices = std::move(choices)](std::string& text) {
        if (std::ranges::find(choices, text) != choices.end()) return std::string();
        std::string list;
        for (const auto& choice : choices) list += (list.empty() ? "" : ", ") + choice;
        return "expected one of " + list + ", got '" + text + "'";
      },
      "");
}

}  // namespace warmpool::cli
