// A minimal streaming JSON writer for machine-readable CLI output
// (`warmpool bench --json`, serve's error bodies). It inserts commas itself
// and escapes strings; nesting mistakes are programming errors.
//
//   JsonWriter j;
//   j.begin_object();
//   j.key("calls").number(1200);
//   j.key("mode").string("pool");
//   j.end_object();
//   std::cout << j.str();   // {"calls":1200,"mode":"pool"}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace warmpool::cli {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& string(std::string_view s);
  JsonWriter& number(double v);  // non-finite values are written as null
  JsonWriter& integer(std::uint64_t v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();

  const std::string& str() const { return out_; }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

// `s` as a quoted JSON string.
std::string json_quote(std::string_view s);

}  // namespace warmpool::cli
