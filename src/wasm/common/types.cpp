#include "warmpool/wasm/types.hpp"

namespace warmpool::wasm {

std::string to_string(const std::vector<ValueType>& types) {
  std::string out = "(";
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (i != 0) out += ", ";
    out += to_string(types[i]);
  }
  return out + ")";
}

std::string to_string(const FunctionType& type) {
  return to_string(type.params) + " -> " + to_string(type.results);
}

}  // namespace warmpool::wasm
