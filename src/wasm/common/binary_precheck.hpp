// wasm/common/binary_precheck.hpp — internal: rejects binaries that would crash wabt's IR reader.
//
// Debian's libwabt 1.0.32 keeps its assertions, and its binary-to-IR reader
// (ReadBinaryIr) aborts the whole process on some malformed binaries, e.g. a
// global whose init expression leaves a block open at the end of the global
// section, followed by any `end` (upstream wabt #2199, fixed after 1.0.32).
// wabt's interpreter reader validates as it reads and rejects these cleanly,
// so every binary goes through it before ReadBinaryIr sees it.
//
// Built as C++17 (binary_precheck.cpp), because wabt 1.0.32's interp headers
// are not valid C++20; this header is plain C++17 so both sides include it.
//
//   ::wabt::Errors errors;
//   if (!precheck_binary(bytes.data(), bytes.size(), features, &errors)) report(errors);
#pragma once

#include <wabt/error.h>
#include <wabt/feature.h>

#include <cstddef>
#include <cstdint>

namespace warmpool::wasm::internal {

// True when wabt's validating interpreter reader accepts the binary; false
// with the reasons (offsets into the binary) appended to `errors` otherwise.
bool precheck_binary(const std::uint8_t* data, std::size_t size, const ::wabt::Features& features,
                     ::wabt::Errors* errors);

}  // namespace warmpool::wasm::internal
