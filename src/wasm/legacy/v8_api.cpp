// warmpool/wasm/v8.hpp (deprecated) over the embedding API.
#include "warmpool/wasm/v8.hpp"

#define WARMPOOL_LEGACY_NAMESPACE v8
#define WARMPOOL_LEGACY_ENGINE (*Engine::named("v8"))
#include "wasm/legacy/legacy_api.inc"
