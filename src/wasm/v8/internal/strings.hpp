// String conversions between V8 and the host (UTF-8 both ways).
#pragma once

#include <v8.h>

#include <string>
#include <string_view>

namespace warmpool::wasm::v8::internal {

inline ::v8::Local<::v8::String> v8_string(::v8::Isolate* isolate, std::string_view s) {
  return ::v8::String::NewFromUtf8(isolate, s.data(), ::v8::NewStringType::kNormal,
                                   static_cast<int>(s.size()))
      .ToLocalChecked();
}

inline std::string host_string(::v8::Isolate* isolate, ::v8::Local<::v8::Value> value) {
  ::v8::String::Utf8Value utf8(isolate, value);
  return *utf8 ? std::string(*utf8, static_cast<std::size_t>(utf8.length())) : std::string();
}

// Reads `object[key]`; empty when the property lookup itself threw.
inline ::v8::MaybeLocal<::v8::Value> get(::v8::Local<::v8::Context> context,
                                         ::v8::Local<::v8::Object> object, std::string_view key) {
  return object->Get(context, v8_string(context->GetIsolate(), key));
}

}  // namespace warmpool::wasm::v8::internal
