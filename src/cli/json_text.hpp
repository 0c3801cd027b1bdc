// JSON for the CLI's machine-readable output (`warmpool bench --json`,
// serve's error bodies), built with nlohmann-json.
//
//   Json j;
//   j["calls"] = 1200;
//   j["mode"] = "pool";
//   std::cout << to_json_text(j);   // {"calls":1200,"mode":"pool"}
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace warmpool::cli {

// Keys keep the order they were added in, the order the output documents.
using Json = nlohmann::ordered_json;

// Compact text. Non-finite numbers are written as null. Bytes that are not
// UTF-8 become U+FFFD instead of an exception: a plugin's error message or
// export name may hold any bytes.
std::string to_json_text(const Json& value);

}  // namespace warmpool::cli
