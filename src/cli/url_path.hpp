// Percent-decoding of a URL path segment (RFC 3986, section 2.1) for
// `warmpool serve`, so an export whose name needs escaping in a URL (a space,
// '/', '?', non-ASCII) can still be called: POST /call/my%20export.
//
// Only `%XX` (hex digits in either case) is decoded; '+' stays '+' (that is
// form encoding, not path encoding). Errors name the offending escape.
//
//   auto name = percent_decode("%65cho");   // "echo"
//   percent_decode("ec%G1").error();   // "malformed percent-escape '%G1' at offset 2 (...)"
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace warmpool::cli {

// `segment` decoded; an error for a '%' not followed by two hex digits, and
// for an escape that decodes to a NUL byte (no export name can contain one,
// and C-string consumers would silently truncate at it).
std::expected<std::string, std::string> percent_decode(std::string_view segment);

}  // namespace warmpool::cli
