// extism:host/env http_request: the allowed_hosts check with the official
// hosts' wording. Requests that pass it are refused as not implemented yet.
#include <fnmatch.h>

#include <nlohmann/json.hpp>

#include "warmpool/extism/kernel.hpp"

namespace warmpool::extism {
namespace {

// The host part of an absolute URL: after "scheme://" and any "user@", before
// the port, path, query or fragment; IPv6 literals keep their brackets off.
std::string url_host(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (rest.starts_with('[')) {
    auto close = rest.find(']');
    return std::string(rest.substr(1, close == std::string_view::npos ? close : close - 1));
  }
  return std::string(rest.substr(0, rest.find(':')));
}

bool host_allowed(const std::optional<std::vector<std::string>>& allowed, const std::string& host) {
  if (!allowed) return false;
  for (const std::string& pattern : *allowed) {
    if (::fnmatch(pattern.c_str(), host.c_str(), 0) == 0) return true;
  }
  return false;
}

}  // namespace

std::expected<Handle, std::string> Kernel::http_request(Handle request, Handle body) {
  const std::string request_json(text(request));
  free(request);
  free(body);
  auto parsed = nlohmann::json::parse(request_json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.contains("url") || !parsed["url"].is_string()) {
    return std::unexpected("http_request: the request is not a JSON object with a string \"url\"");
  }
  const std::string url = parsed["url"].get<std::string>();
  const std::string host = url_host(url);
  if (!host_allowed(settings_->allowed_hosts, host)) {
    return std::unexpected("HTTP request to \"" + url +
                           "\" is not allowed (no allowed_hosts match \"" + host + "\")");
  }
  return std::unexpected("HTTP request to \"" + url +
                         "\": http_request is not implemented by this version of warmpool");
}

}  // namespace warmpool::extism
