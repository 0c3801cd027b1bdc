// warmpool/warmpool.hpp — everything the generic pool offers, in one include.
//
//   #include <warmpool/warmpool.hpp>
//   auto pool = warmpool::InstancePool<Conn, MyError>::create({}, make_conn);
//
// The WebAssembly embedding API has its own headers (warmpool/wasm/wasm.hpp,
// and warmpool/wasm/pool.hpp to pool its instances) so that using the pool
// does not pull in an engine.
#pragma once

#include "warmpool/bound_checkout.hpp"       // IWYU pragma: export
#include "warmpool/instance_pool.hpp"        // IWYU pragma: export
#include "warmpool/latency_histogram.hpp"    // IWYU pragma: export
#include "warmpool/lifecycle.hpp"            // IWYU pragma: export
#include "warmpool/pool_config.hpp"          // IWYU pragma: export
#include "warmpool/pool_metrics.hpp"         // IWYU pragma: export
#include "warmpool/pool_resource_limit.hpp"  // IWYU pragma: export
#include "warmpool/pooled_instance.hpp"      // IWYU pragma: export
