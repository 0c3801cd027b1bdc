// The current UTC time as ISO 8601 to the second, as GET /plugins reports
// when a plugin was loaded and last reloaded.
//
//   std::string at = utc_timestamp();   // "2026-12-07T18:00:00Z"
#pragma once

#include <string>

namespace warmpool::cli {

std::string utc_timestamp();

}  // namespace warmpool::cli
