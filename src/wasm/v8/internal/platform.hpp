// Process-wide V8 set-up shared by every warmpool V8 module and instance.
#pragma once

#include <v8.h>

namespace warmpool::wasm::v8::internal {

// Initialises the V8 platform and V8 itself the first time it is called (thread-safe). Both
// live until the process ends: tearing V8 down from a static destructor would race instances
// that static pools still hold, and the OS reclaims everything anyway.
void ensure_v8();

// Creation parameters for a new isolate (shared, thread-safe array buffer allocator).
::v8::Isolate::CreateParams isolate_params();

}  // namespace warmpool::wasm::v8::internal
