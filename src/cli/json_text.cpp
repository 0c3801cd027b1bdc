#include "json_text.hpp"

namespace warmpool::cli {

std::string to_json_text(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace warmpool::cli
