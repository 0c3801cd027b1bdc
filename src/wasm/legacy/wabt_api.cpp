// warmpool/wasm/wabt.hpp (deprecated) over the embedding API.
#include "warmpool/wasm/wabt.hpp"

#define WARMPOOL_LEGACY_NAMESPACE wabt
#define WARMPOOL_LEGACY_ENGINE Engine::wabt()
#include "wasm/legacy/legacy_api.inc"
