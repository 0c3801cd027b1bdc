#include "internal/platform.hpp"

#include <libplatform/libplatform.h>

#include <memory>
#include <mutex>

namespace warmpool::wasm::v8::internal {
namespace {

struct Process {
  std::unique_ptr<::v8::Platform> platform;
  std::unique_ptr<::v8::ArrayBuffer::Allocator> allocator;
};

Process& process() {
  // Leaked on purpose (see ensure_v8); still reachable, so LeakSanitizer does not report it.
  static Process* p = [] {
    auto* proc = new Process;
    // No `EnableWebAssemblyTrapHandler`: V8 then bounds-checks memory accesses explicitly
    // instead of installing a SIGSEGV handler that would fight the host's (and ASan's).
    proc->platform = ::v8::platform::NewDefaultPlatform();
    ::v8::V8::InitializePlatform(proc->platform.get());
    ::v8::V8::Initialize();
    proc->allocator.reset(::v8::ArrayBuffer::Allocator::NewDefaultAllocator());
    return proc;
  }();
  return *p;
}

}  // namespace

void ensure_v8() {
  process();
}

::v8::Isolate::CreateParams isolate_params() {
  ::v8::Isolate::CreateParams params;
  params.array_buffer_allocator = process().allocator.get();
  return params;
}

}  // namespace warmpool::wasm::v8::internal
