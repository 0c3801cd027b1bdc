#include "value_text.hpp"

#include <charconv>
#include <cmath>

namespace warmpool::cli {
namespace {

template <class T>
std::expected<wasm::Value, std::string> parse_as(std::string_view text, wasm::ValueType type) {
  T value{};
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first != last && *first == '+') ++first;
  auto [end, ec] = std::from_chars(first, last, value);
  if (first == last || ec != std::errc{} || end != last) {
    return std::unexpected("expected " + std::string(type_name(type)) + ", got '" +
                           std::string(text) + "'");
  }
  return wasm::Value{value};
}

}  // namespace

std::string_view type_name(wasm::ValueType t) {
  switch (t) {
    case wasm::ValueType::i32: return "i32";
    case wasm::ValueType::i64: return "i64";
    case wasm::ValueType::f32: return "f32";
    case wasm::ValueType::f64: return "f64";
  }
  return "?";
}

std::string signature(const wasm::FunctionType& type) {
  auto list = [](const std::vector<wasm::ValueType>& ts) {
    std::string s = "(";
    for (std::size_t i = 0; i < ts.size(); ++i) {
      s += (i ? ", " : "") + std::string(type_name(ts[i]));
    }
    return s + ")";
  };
  return list(type.params) + " -> " + list(type.results);
}

bool is_bytes_export(const wasm::FunctionType& type) {
  using wasm::ValueType;
  return type.params == std::vector{ValueType::i32, ValueType::i32} &&
         type.results == std::vector{ValueType::i64};
}

std::expected<wasm::Value, std::string> parse_value(std::string_view text, wasm::ValueType type) {
  switch (type) {
    case wasm::ValueType::i32: return parse_as<std::int32_t>(text, type);
    case wasm::ValueType::i64: return parse_as<std::int64_t>(text, type);
    case wasm::ValueType::f32: return parse_as<float>(text, type);
    case wasm::ValueType::f64: return parse_as<double>(text, type);
  }
  return std::unexpected(std::string("unknown type"));
}

std::string format_value(const wasm::Value& value) {
  return std::visit(
      [](auto v) -> std::string {
        char buf[64];
        auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
        return std::string(buf, end);
      },
      value);
}

}  // namespace warmpool::cli
