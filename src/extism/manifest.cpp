// Extism manifest JSON, read with nlohmann-json; sha256 and base64 by OpenSSL.
#include "warmpool/extism/manifest.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

namespace warmpool::extism {
namespace {

using json = nlohmann::json;

std::unexpected<Error> bad(const std::string& field, const std::string& what) {
  return std::unexpected(Error(ErrorKind::manifest, "manifest: " + field + ": " + what));
}

std::string type_name(const json& value) {
  return value.type_name();
}

// serde's deny_unknown_fields: every key must be one of `known`.
std::optional<Error> unknown_field(const json& object, const std::string& where,
                                   std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string expected;
      for (auto k : known) expected += (expected.empty() ? "" : ", ") + std::string(k);
      return Error(ErrorKind::manifest, "manifest: " + where + (where.empty() ? "" : ".") + key +
                                            ": unknown field (expected one of: " + expected + ")");
    }
  }
  return std::nullopt;
}

std::expected<std::vector<std::uint8_t>, Error> read_file(const std::filesystem::path& path,
                                                          const std::string& field) {
  const auto cannot_read = [&](std::string_view why) {
    return std::unexpected(Error(ErrorKind::io, "manifest: " + field + ": cannot read '" +
                                                    path.string() + "'" + std::string(why)));
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return cannot_read(": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return cannot_read("");
  try {
    return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
  } catch (const std::ios_base::failure&) {
    // libstdc++'s filebuf throws on a read error whatever the stream's exception mask.
    return cannot_read(": read error");
  }
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::vector<std::uint8_t> bytes(text.size() / 4 * 3);
  int decoded = EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (decoded < 0) return std::nullopt;
  // EVP_DecodeBlock counts the bytes that '=' padding stands for.
  std::size_t padding = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '=' && padding < 2; ++it) ++padding;
  bytes.resize(static_cast<std::size_t>(decoded) - padding);
  return bytes;
}

std::expected<WasmSource, Error> read_source(const json& entry, std::size_t index,
                                             const std::filesystem::path& base_dir) {
  const std::string field = "wasm[" + std::to_string(index) + "]";
  if (!entry.is_object()) return bad(field, "expected an object, got " + type_name(entry));
  WasmSource source;
  if (entry.contains("name")) {
    if (!entry["name"].is_string()) return bad(field + ".name", "expected a string");
    source.name = entry["name"].get<std::string>();
  }
  if (entry.contains("url")) {
    if (auto e = unknown_field(entry, field, {"url", "headers", "method", "name", "hash"})) {
      return std::unexpected(*e);
    }
    return bad(field + ".url",
               "url sources are not fetched by warmpool; download the file and give its \"path\"");
  }
  if (entry.contains("path")) {
    if (auto e = unknown_field(entry, field, {"path", "name", "hash"})) return std::unexpected(*e);
    if (!entry["path"].is_string()) return bad(field + ".path", "expected a string");
    std::filesystem::path path = entry["path"].get<std::string>();
    if (path.is_relative()) path = base_dir / path;
    auto bytes = read_file(path, field + ".path");
    if (!bytes) return std::unexpected(bytes.error());
    source.bytes = std::move(*bytes);
    source.label = path.filename().string();
  } else if (entry.contains("data")) {
    if (auto e = unknown_field(entry, field, {"data", "name", "hash"})) return std::unexpected(*e);
    if (!entry["data"].is_string()) return bad(field + ".data", "expected a base64 string");
    auto bytes = base64_decode(entry["data"].get<std::string>());
    if (!bytes) return bad(field + ".data", "not valid base64");
    source.bytes = std::move(*bytes);
    source.label = field + " (data)";
  } else {
    return bad(field, "expected \"path\", \"data\" or \"url\"");
  }
  if (entry.contains("hash")) {
    if (!entry["hash"].is_string()) return bad(field + ".hash", "expected a sha256 hex string");
    std::string expected = entry["hash"].get<std::string>();
    std::ranges::transform(expected, expected.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string found = sha256_hex(source.bytes);
    if (found != expected) {
      return std::unexpected(Error(ErrorKind::hash, "manifest: " + field +
                                                        ".hash: Hash mismatch, found " + found +
                                                        " but expected " + expected));
    }
  }
  return source;
}

template <class T>
std::expected<T, Error> unsigned_field(const json& object, const std::string& key,
                                       const std::string& field) {
  const json& value = object[key];
  if (!value.is_number_unsigned() &&
      !(value.is_number_integer() && value.get<std::int64_t>() >= 0)) {
    return bad(field, "expected a non-negative integer, got " + value.dump());
  }
  auto n = value.get<std::uint64_t>();
  if (n > std::numeric_limits<T>::max()) return bad(field, "too large: " + value.dump());
  return static_cast<T>(n);
}

std::optional<Error> read_memory(const json& memory, Manifest& m) {
  if (memory.is_null()) return std::nullopt;
  if (!memory.is_object())
    return Error(ErrorKind::manifest, "manifest: memory: expected an object");
  if (auto e = unknown_field(memory, "memory",
                             {"max_pages", "max_http_response_bytes", "max_var_bytes"})) {
    return e;
  }
  if (memory.contains("max_pages") && !memory["max_pages"].is_null()) {
    auto n = unsigned_field<std::uint32_t>(memory, "max_pages", "memory.max_pages");
    if (!n) return n.error();
    m.max_pages = *n;
  }
  if (memory.contains("max_var_bytes") && !memory["max_var_bytes"].is_null()) {
    auto n = unsigned_field<std::uint64_t>(memory, "max_var_bytes", "memory.max_var_bytes");
    if (!n) return n.error();
    m.max_var_bytes = *n;
  }
  if (memory.contains("max_http_response_bytes") && !memory["max_http_response_bytes"].is_null()) {
    auto n = unsigned_field<std::uint64_t>(memory, "max_http_response_bytes",
                                           "memory.max_http_response_bytes");
    if (!n) return n.error();
    m.max_http_response_bytes = *n;
  }
  return std::nullopt;
}

std::optional<Error> read_permissions(const json& root, Manifest& m,
                                      const std::filesystem::path& base_dir) {
  if (root.contains("config") && !root["config"].is_null()) {
    if (!root["config"].is_object()) {
      return Error(ErrorKind::manifest, "manifest: config: expected an object of strings");
    }
    for (const auto& [key, value] : root["config"].items()) {
      if (!value.is_string()) {
        return Error(ErrorKind::manifest,
                     "manifest: config." + key + ": expected a string, got " + value.dump());
      }
      m.config[key] = value.get<std::string>();
    }
  }
  if (root.contains("allowed_hosts") && !root["allowed_hosts"].is_null()) {
    const json& hosts = root["allowed_hosts"];
    if (!hosts.is_array()) {
      return Error(ErrorKind::manifest, "manifest: allowed_hosts: expected an array of strings");
    }
    m.allowed_hosts.emplace();
    for (const json& host : hosts) {
      if (!host.is_string()) {
        return Error(ErrorKind::manifest,
                     "manifest: allowed_hosts: expected strings, got " + host.dump());
      }
      m.allowed_hosts->push_back(host.get<std::string>());
    }
  }
  if (root.contains("allowed_paths") && !root["allowed_paths"].is_null()) {
    const json& paths = root["allowed_paths"];
    if (!paths.is_object()) {
      return Error(ErrorKind::manifest,
                   "manifest: allowed_paths: expected an object {host path: guest path}");
    }
    for (const auto& [key, value] : paths.items()) {
      if (!value.is_string()) {
        return Error(ErrorKind::manifest,
                     "manifest: allowed_paths." + key + ": expected a guest path string");
      }
      PathMapping mapping;
      std::string host = key;
      if (host.starts_with("ro:")) {
        mapping.read_only = true;
        host.erase(0, 3);
      }
      mapping.host =
          std::filesystem::path(host).is_relative() ? base_dir / host : std::filesystem::path(host);
      mapping.guest = value.get<std::string>();
      m.allowed_paths.push_back(std::move(mapping));
    }
  }
  return std::nullopt;
}

}  // namespace

std::expected<Manifest, Error> Manifest::parse(std::string_view text,
                                               const std::filesystem::path& base_dir) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number too large
    return std::unexpected(Error(ErrorKind::manifest, std::string("manifest: ") + e.what()));
  }
  if (!root.is_object()) return bad("(top level)", "expected an object, got " + type_name(root));
  if (auto e = unknown_field(
          root, "", {"wasm", "memory", "config", "allowed_hosts", "allowed_paths", "timeout_ms"})) {
    return std::unexpected(*e);
  }
  Manifest m;
  if (!root.contains("wasm") || !root["wasm"].is_array() || root["wasm"].empty()) {
    return bad("wasm", "expected a non-empty array of wasm sources");
  }
  for (std::size_t i = 0; i < root["wasm"].size(); ++i) {
    auto source = read_source(root["wasm"][i], i, base_dir);
    if (!source) return std::unexpected(source.error());
    m.wasm.push_back(std::move(*source));
  }
  if (m.wasm.size() == 1 && m.wasm[0].name.empty()) m.wasm[0].name = "main";
  for (std::size_t i = 0; i < m.wasm.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (!m.wasm[i].name.empty() && m.wasm[i].name == m.wasm[j].name) {
        return bad("wasm[" + std::to_string(i) + "].name",
                   "duplicate module name '" + m.wasm[i].name + "'");
      }
    }
  }
  if (root.contains("memory")) {
    if (auto e = read_memory(root["memory"], m)) return std::unexpected(*e);
  }
  if (auto e = read_permissions(root, m, base_dir)) return std::unexpected(*e);
  if (root.contains("timeout_ms") && !root["timeout_ms"].is_null()) {
    auto ms = unsigned_field<std::uint64_t>(root, "timeout_ms", "timeout_ms");
    if (!ms) return std::unexpected(ms.error());
    m.timeout = std::chrono::milliseconds(*ms);
  }
  return m;
}

std::expected<Manifest, Error> Manifest::load_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(Error(ErrorKind::io, "cannot read '" + path.string() + "'"));
  std::string content(std::istreambuf_iterator<char>(in), {});
  auto first = content.find_first_not_of(" \t\r\n");
  const bool looks_like_json = first != std::string::npos && content[first] == '{';
  if (path.extension() == ".json" || looks_like_json) {
    auto m = parse(content, path.parent_path().empty() ? "." : path.parent_path());
    if (!m) {
      return std::unexpected(
          Error(m.error().kind(), path.filename().string() + ": " + m.error().message()));
    }
    return m;
  }
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(content.data()), content.size());
  return from_wasm(bytes, path.filename().string());
}

Manifest Manifest::from_wasm(std::span<const std::uint8_t> bytes, std::string label) {
  Manifest m;
  m.wasm.push_back(
      {"main", std::vector<std::uint8_t>(bytes.begin(), bytes.end()), std::move(label)});
  return m;
}

const WasmSource* Manifest::main_module() const {
  for (const WasmSource& source : wasm) {
    if (source.name == "main") return &source;
  }
  return wasm.empty() ? nullptr : &wasm.back();
}

}  // namespace warmpool::extism
