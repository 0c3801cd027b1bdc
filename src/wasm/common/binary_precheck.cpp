// Built as C++17: see binary_precheck.hpp.
#include "wasm/common/binary_precheck.hpp"

#include <wabt/binary-reader.h>
#include <wabt/interp/binary-reader-interp.h>
#include <wabt/interp/interp.h>

namespace warmpool::wasm::internal {

bool precheck_binary(const std::uint8_t* data, std::size_t size, const ::wabt::Features& features,
                     ::wabt::Errors* errors) {
  ::wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/false,
                                    /*stop_on_first_error=*/true,
                                    /*fail_on_custom_section_error=*/false);
  // The decoded module itself is not needed: the IR reader builds the one
  // the preparation pass rewrites.
  ::wabt::interp::ModuleDesc decoded;
  return ::wabt::Succeeded(
      ::wabt::interp::ReadBinaryInterp("", data, size, options, errors, &decoded));
}

}  // namespace warmpool::wasm::internal
