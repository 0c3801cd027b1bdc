// tests/wasm/test_support.hpp — file helpers and tiny hand-assembled modules
// shared by the wasm tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace warmpool::wasm::testing {

inline std::filesystem::path data_file(const std::string& name) {
  return std::filesystem::path(WARMPOOL_TEST_DATA) / name;
}

inline std::filesystem::path plugin_file(const std::string& name) {
  return std::filesystem::path(WARMPOOL_PLUGIN_DIR) / name;
}

inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::vector<std::uint8_t> bytes_of(std::string_view text) {
  return {text.begin(), text.end()};
}

inline void append_leb(std::vector<std::uint8_t>& out, std::uint64_t value) {
  do {
    std::uint8_t byte = value & 0x7f;
    value >>= 7;
    if (value != 0) byte |= 0x80;
    out.push_back(byte);
  } while (value != 0);
}

// A binary module with one exported function "run": [] -> [i32] whose body
// (without the final `end`) is `body`.
inline std::vector<std::uint8_t> module_with_body(const std::vector<std::uint8_t>& body) {
  std::vector<std::uint8_t> m = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  m.insert(m.end(), {0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f});           // type () -> i32
  m.insert(m.end(), {0x03, 0x02, 0x01, 0x00});                             // one function
  m.insert(m.end(), {0x07, 0x07, 0x01, 0x03, 'r', 'u', 'n', 0x00, 0x00});  // export "run"
  std::vector<std::uint8_t> func = {0x00};                                 // no locals
  func.insert(func.end(), body.begin(), body.end());
  func.push_back(0x0b);
  std::vector<std::uint8_t> code = {0x01};
  append_leb(code, func.size());
  code.insert(code.end(), func.begin(), func.end());
  m.push_back(0x0a);
  append_leb(m, code.size());
  m.insert(m.end(), code.begin(), code.end());
  return m;
}

// "run" returns 42.
inline std::vector<std::uint8_t> answer_module() {
  return module_with_body({0x41, 42});
}

}  // namespace warmpool::wasm::testing
