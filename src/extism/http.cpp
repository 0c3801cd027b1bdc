// extism:host/env http_request and http_headers: the request JSON read as the
// Rust runtime's HttpRequest (deny_unknown_fields), the allowed_hosts check
// with the official hosts' wording, redirects (at most 5, as ureq in the Rust
// runtime; every target checked again), and the exchange itself
// (http_client.cpp) bounded by the call's remaining time.
#include <fnmatch.h>

#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "warmpool/extism/kernel.hpp"

namespace warmpool::extism {
namespace {

using internal::HttpExchangeRequest;
using internal::HttpUrl;

constexpr int kMaxRedirects = 5;

bool host_allowed(const std::optional<std::vector<std::string>>& allowed, const std::string& host) {
  if (!allowed) return false;
  for (const std::string& pattern : *allowed) {
    if (::fnmatch(pattern.c_str(), host.c_str(), 0) == 0) return true;
  }
  return false;
}

std::string denial(std::string_view url, std::string_view host) {
  return "HTTP request to \"" + std::string(url) + "\" is not allowed (no allowed_hosts match \"" +
         std::string(host) + "\")";
}

std::string failure(std::string_view url, std::string_view reason) {
  return "HTTP request to \"" + std::string(url) + "\" failed: " + std::string(reason);
}

struct PluginRequest {
  std::string url;  // as the plugin wrote it
  HttpExchangeRequest exchange;
};

// {"url": string, "method": string, "headers": {string: string}}; anything
// else is an error naming the field.
std::expected<PluginRequest, std::string> read_request(std::string_view request_json) {
  auto parsed = nlohmann::json::parse(request_json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.contains("url") || !parsed["url"].is_string()) {
    return std::unexpected("http_request: the request is not a JSON object with a string \"url\"");
  }
  PluginRequest plugin_request{parsed["url"].get<std::string>(), {}};
  HttpExchangeRequest& request = plugin_request.exchange;
  for (const auto& [field, value] : parsed.items()) {
    if (field == "url") continue;
    if (field == "method" && value.is_string()) {
      request.method = value.get<std::string>();
    } else if (field == "method" && value.is_null()) {
      continue;
    } else if (field == "headers" && (value.is_object() || value.is_null())) {
      for (const auto& [name, header] : value.items()) {
        if (!header.is_string()) {
          return std::unexpected("http_request: headers." + name + " is not a string");
        }
        request.headers.emplace_back(name, header.get<std::string>());
      }
    } else if (field == "method" || field == "headers") {
      return std::unexpected("http_request: \"" + field + "\" has the wrong type");
    } else {
      return std::unexpected("http_request: unknown field \"" + field +
                             "\" (expected url, method, headers)");
    }
  }
  if (request.method.empty()) return std::unexpected("http_request: \"method\" is empty");
  return plugin_request;
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

const std::string* header(const internal::HttpHeaders& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

// The request to send to a redirect's target: 303, and 301/302 after
// anything but GET/HEAD, become a GET without a body (as browsers and ureq
// do); credentials are not carried to another host.
void follow(HttpExchangeRequest& request, int status, HttpUrl target) {
  if (status == 303 || ((status == 301 || status == 302) && request.method != "HEAD")) {
    if (request.method != "GET" && request.method != "HEAD") request.method = "GET";
    request.body.clear();
  }
  if (target.host != request.url.host) {
    std::erase_if(request.headers, [](const auto& h) {
      std::string name = h.first;
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return name == "authorization" || name == "cookie";
    });
  }
  request.url = std::move(target);
}

std::string headers_json(const internal::HttpHeaders& headers) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [name, value] : headers) {
    auto& entry = object[name];
    entry = entry.is_string() ? entry.get<std::string>() + ", " + value : value;
  }
  return object.dump();
}

}  // namespace

std::expected<Handle, std::string> Kernel::http_request(Handle request_handle, Handle body) {
  const std::string request_json(text(request_handle));
  std::string body_bytes(text(body));
  free(request_handle);
  free(body);
  auto plugin_request = read_request(request_json);
  if (!plugin_request) return std::unexpected(plugin_request.error());
  const std::string& original_url = plugin_request->url;
  HttpExchangeRequest* request = &plugin_request->exchange;
  request->body = std::move(body_bytes);
  request->max_body_bytes = settings_->max_http_response_bytes;
  request->deadline = deadline_;

  std::string url = original_url;
  for (int redirects = 0;; ++redirects) {
    auto parsed = HttpUrl::parse(url);
    if (!parsed) return std::unexpected(failure(url, parsed.error()));
    if (!host_allowed(settings_->allowed_hosts, parsed->host)) {
      return std::unexpected(denial(url, parsed->host));
    }
    if (redirects == 0) {
      request->url = std::move(*parsed);
    } else {
      follow(*request, http_status_, std::move(*parsed));
    }
    auto response = internal::http_exchange(*request);
    if (!response) return std::unexpected(failure(url, response.error()));
    http_status_ = response->status;
    const std::string* location = header(response->headers, "location");
    if (is_redirect(response->status) && location != nullptr) {
      if (redirects == kMaxRedirects) {
        return std::unexpected(
            failure(original_url, "more than " + std::to_string(kMaxRedirects) + " redirects"));
      }
      url = request->url.resolve(*location);
      continue;
    }
    if (settings_->http_response_headers) http_headers_json_ = headers_json(response->headers);
    if (response->body.empty()) return Handle{0};
    const Handle block = allocate_bytes(response->body);
    if (block == 0) {
      return std::unexpected(failure(url, "the response body (" +
                                              std::to_string(response->body.size()) +
                                              " bytes) does not fit in kernel memory"));
    }
    return block;
  }
}

Handle Kernel::http_headers() {
  if (!settings_->http_response_headers || http_headers_json_.empty()) return 0;
  return allocate_bytes(http_headers_json_);
}

}  // namespace warmpool::extism
