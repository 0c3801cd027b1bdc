// How `warmpool serve` answers a plugin error: the HTTP status for each
// ErrorKind, and the JSON error body {"error": kind, "message": text}.
//
//   | kind                                  | status |
//   |---------------------------------------|--------|
//   | trap, memory_limit, abi               | 500    |
//   | fuel_exhausted, deadline              | 504    |
//   | resource_limit (pool exhausted)       | 503 + Retry-After |
//   | compile, link, instantiate, io        | 500 (an instance could not be built) |
//
//   HttpResponse r = error_response(err);   // 504 {"error":"deadline","message":"..."}
#pragma once

#include "http_server.hpp"
#include "warmpool/wasm/error.hpp"

namespace warmpool::cli {

unsigned http_status_for(wasm::ErrorKind kind);

// `kind` is the ErrorKind's name or one of serve's own ("not_found", "bad_request").
HttpResponse json_error(unsigned status, std::string_view kind, std::string_view message);
HttpResponse error_response(const wasm::WasmError& error);

}  // namespace warmpool::cli
