#include "error_status.hpp"

#include "json_text.hpp"

namespace warmpool::cli {

unsigned http_status_for(wasm::ErrorKind kind) {
  using wasm::ErrorKind;
  switch (kind) {
    case ErrorKind::fuel_exhausted:
    case ErrorKind::deadline: return 504;
    case ErrorKind::resource_limit: return 503;
    case ErrorKind::trap:
    case ErrorKind::memory_limit:
    case ErrorKind::abi:
    case ErrorKind::compile:
    case ErrorKind::link:
    case ErrorKind::instantiate:
    case ErrorKind::io: return 500;
  }
  return 500;
}

HttpResponse json_error(unsigned status, std::string_view kind, std::string_view message) {
  const Json body = {{"error", kind}, {"message", message}};
  return {.status = status, .body = to_json_text(body) + "\n", .content_type = "application/json"};
}

HttpResponse error_response(const wasm::WasmError& error) {
  HttpResponse r =
      json_error(http_status_for(error.kind()), to_string(error.kind()), error.message());
  // The pool was at capacity for the whole acquire timeout: worth retrying soon.
  if (error.kind() == wasm::ErrorKind::resource_limit) r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace warmpool::cli
