// What the Extism layer adds to a Linker: the 26 `extism:host/env` kernel
// functions, and the WASI preview1 functions real PDK plugins import beyond
// warmpool's own subset.
#pragma once

#include "warmpool/wasm/linker.hpp"

namespace warmpool::extism::internal {

inline constexpr const char* kEnvModule = "extism:host/env";

void define_kernel_functions(wasm::Linker& linker);
// Call after Linker::define_wasi(): file-system and scheduling calls that
// answer "no such file descriptor" or "not supported"; with allowed_paths,
// define_wasi_files (wasi_files.hpp) then replaces the file calls it provides.
void define_wasi_extras(wasm::Linker& linker);

}  // namespace warmpool::extism::internal
