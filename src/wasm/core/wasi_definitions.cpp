// Linker::define_wasi: the WASI preview1 subset (wasm/common/wasi.hpp) as ordinary host
// function definitions, reaching the instance's WasiContext through CallerAccess.
#include "warmpool/wasm/linker.hpp"
#include "wasm/common/wasi.hpp"
#include "wasm/core/instance_core.hpp"

namespace warmpool::wasm {

Linker& Linker::define_wasi() {
  for (const internal::WasiFunction& wasi : internal::wasi_functions()) {
    auto callback = [handler = wasi.handler](Caller& caller, std::span<const std::uint64_t> args,
                                             std::span<std::uint64_t> results) {
      internal::WasiResult r =
          handler(internal::CallerAccess::wasi(caller), caller.memory().data(), args);
      if (!r) return internal::CallerAccess::exit(caller, r.error().code);
      if (!results.empty()) results[0] = static_cast<std::uint32_t>(*r);
    };
    define(std::string(internal::kWasiModule), std::string(wasi.name),
           HostFunction(wasi.type, std::move(callback)));
  }
  return *this;
}

}  // namespace warmpool::wasm
