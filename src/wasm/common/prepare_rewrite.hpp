// wasm/common/prepare_rewrite.hpp — internal: the rewrites of the preparation
// pass (prepare.hpp) that make limits hold inside any engine: fuel metering,
// tracking memory.grow refused by the cap, and exposing state for in-place
// reset. Each works on a validated module in wabt's IR, which is then written
// out again.
//
//   if (limits.fuel != 0) add_fuel_metering(module);
//   if (limits.max_memory_pages != 0) add_grow_tracking(module);
#pragma once

#include <wabt/ir.h>

#include "wasm/common/prepare.hpp"

namespace warmpool::wasm::internal {

// Exports memory 0 as kStateMemoryExport and, when the module's state can be
// restored through exports (ExposedState::restorable_in_place), every mutable
// global as kStateGlobalExportPrefix<index>. Runs before the other rewrites
// add their globals, so only the module's own state is exposed.
ExposedState expose_state(::wabt::Module& module);

// Imports kMeteringModule.kOutOfFuelImport, adds the exported fuel global
// kFuelGlobalExport, and charges every function entry and loop header.
void add_fuel_metering(::wabt::Module& module);

// Adds the exported i32 global kGrowFailedGlobalExport, set to 1 after every
// memory.grow that returns -1.
void add_grow_tracking(::wabt::Module& module);

}  // namespace warmpool::wasm::internal
