// Fuzzes the Extism kernel (warmpool/extism/kernel.hpp) with fuzzer-chosen
// sequences of what a hostile plugin can do through `extism:host/env`: alloc,
// free, length, load/store at any address, input, output, error, config, vars,
// logs and http_request (always denied here: no allowed_hosts, no network),
// with handles that are live, interior, freed or wild. ASan and UBSan catch
// memory errors; a model of the live blocks checks what the kernel promises:
// `length` is the size at the start of a live block and 0 anywhere else, live
// blocks never overlap, what was stored in a block is what `bytes` reads,
// input loads read the input (unless a store reached its block), a var holds
// what was set.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "warmpool/extism/kernel.hpp"

namespace {

using warmpool::extism::Handle;
using warmpool::extism::Kernel;
using warmpool::extism::KernelSettings;
using warmpool::extism::LogLevel;

[[noreturn]] void fail(const char* what, std::uint64_t a = 0, std::uint64_t b = 0) {
  std::fprintf(stderr, "kernel invariant broken: %s (%llu, %llu)\n", what,
               static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
  std::abort();
}

void check(bool ok, const char* what, std::uint64_t a = 0, std::uint64_t b = 0) {
  if (!ok) fail(what, a, b);
}

std::span<const std::uint8_t> as_bytes(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::shared_ptr<const KernelSettings> settings() {
  auto s = std::make_shared<KernelSettings>();
  s->config = {{"key", "value"}, {"empty", ""}};
  s->max_var_bytes = 4096;
  s->max_memory_bytes = 1 << 20;  // so a huge alloc meets the cap quickly
  s->log_level = LogLevel::trace;
  s->log_sink = [](LogLevel, std::string_view message) { (void)message.size(); };
  return s;
}

// What the kernel must agree with.
struct Model {
  std::map<Handle, std::uint64_t> live;  // handle -> length
  std::string input;
  // The input is a live block of kernel memory from the call's start (input_load reads it).
  Handle input_handle = 0;
  // A store reached the input's block: its bytes are no longer the input given.
  bool input_written = false;
  std::map<std::string, std::string> vars;

  void begin_call(Kernel& k);
  void stored(Handle address, std::uint64_t width) {
    if (input_handle != 0 && address < input_handle + input.size() &&
        address + width > input_handle) {
      input_written = true;
    }
  }

  void freed(Handle h) {
    live.erase(h);
    if (h != 0 && h == input_handle) {
      input_handle = 0;
      input.clear();
    }
  }
};

enum Op : int {
  kAlloc,
  kAllocBytes,
  kFree,
  kLength,
  kBytes,
  kLoad,
  kStore,
  kBeginCall,
  kInputLoad,
  kInputHandle,
  kOutput,
  kError,
  kConfig,
  kVarSet,
  kVarGet,
  kClearVars,
  kLog,
  kHttp,
  kLastOp = kHttp
};

// A live handle, a position inside or just past one, or any value.
Handle pick_handle(FuzzedDataProvider& in, const Model& m) {
  const int how = in.ConsumeIntegralInRange(0, 3);
  if (how < 3 && !m.live.empty()) {
    auto it = m.live.begin();
    std::advance(it, in.ConsumeIntegralInRange<std::size_t>(0, m.live.size() - 1));
    if (how == 0) return it->first;
    return it->first + in.ConsumeIntegralInRange<std::uint64_t>(0, it->second + 8);
  }
  return in.ConsumeIntegral<std::uint64_t>();
}

void check_no_overlap(const Model& m, Handle h, std::uint64_t n) {
  for (const auto& [other, length] : m.live) {
    if (other == h) continue;
    check(h + n <= other || other + length <= h, "live blocks overlap", h, other);
  }
}

void allocated(Model& m, Kernel& k, Handle h, std::uint64_t n) {
  if (h == 0) return;
  check(k.length(h) == n, "length of a new block", h, n);
  check(!m.live.contains(h), "a live block handed out twice", h);
  check_no_overlap(m, h, n);
  m.live[h] = n;
}

void Model::begin_call(Kernel& k) {
  k.begin_call(as_bytes(input), nullptr);
  live.clear();
  input_written = false;
  input_handle = k.input_handle();
  allocated(*this, k, input_handle, input.size());
}

void step(FuzzedDataProvider& in, Kernel& k, Model& m) {
  switch (in.ConsumeIntegralInRange<int>(0, kLastOp)) {
    case kAlloc: {
      const std::uint64_t n = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::uint64_t>(0, 512)
                                               : in.ConsumeIntegral<std::uint64_t>();
      const Handle h = k.allocate(n);
      check(n != 0 || h == 0, "alloc(0) is not null", h);
      allocated(m, k, h, n);
      break;
    }
    case kAllocBytes: {
      const std::string text = in.ConsumeRandomLengthString(128);
      const Handle h = k.allocate_bytes(text);
      allocated(m, k, h, text.size());
      if (h != 0) check(k.text(h) == text, "allocate_bytes content", h);
      break;
    }
    case kFree: {
      const Handle h = pick_handle(in, m);
      k.free(h);
      m.freed(h);
      check(k.length(h) == 0, "length of a freed block", h);
      break;
    }
    case kLength: {
      const Handle h = pick_handle(in, m);
      auto it = m.live.find(h);
      check(k.length(h) == (it == m.live.end() ? 0 : it->second), "length", h, k.length(h));
      check(k.bytes(h).size() == k.length(h), "bytes() and length() disagree", h);
      break;
    }
    case kBytes: {
      // Store a pattern through store_u8 and read it back through bytes().
      const Handle h = pick_handle(in, m);
      auto it = m.live.find(h);
      if (it == m.live.end()) break;
      const auto fill = in.ConsumeIntegral<std::uint8_t>();
      const std::uint64_t n = std::min<std::uint64_t>(it->second, 64);
      for (std::uint64_t i = 0; i < n; ++i) k.store_u8(h + i, static_cast<std::uint8_t>(fill + i));
      m.stored(h, n);
      auto b = k.bytes(h);
      for (std::uint64_t i = 0; i < n; ++i) {
        check(b[i] == static_cast<std::uint8_t>(fill + i), "store_u8 then bytes", h, i);
      }
      break;
    }
    case kLoad: {
      const Handle a = pick_handle(in, m);
      (void)k.load_u8(a);
      (void)k.load_u64(a);
      break;
    }
    case kStore: {
      const Handle a = pick_handle(in, m);
      const auto value = in.ConsumeIntegral<std::uint64_t>();
      const bool wide = in.ConsumeBool();
      m.stored(a, wide ? 8 : 1);
      if (wide) {
        k.store_u64(a, value);
        auto it = m.live.find(a);
        if (it != m.live.end() && it->second >= 8) {
          check(k.load_u64(a) == value, "store_u64 then load_u64", a);
        }
      } else {
        k.store_u8(a, static_cast<std::uint8_t>(value));
      }
      break;
    }
    case kBeginCall: {
      m.input = in.ConsumeRandomLengthString(64);
      m.begin_call(k);
      break;
    }
    case kInputLoad: {
      const auto offset = in.ConsumeIntegralInRange<std::uint64_t>(0, m.input.size() + 16);
      const std::uint8_t expected =
          offset < m.input.size() ? static_cast<std::uint8_t>(m.input[offset]) : 0;
      if (!m.input_written) check(k.input_load_u8(offset) == expected, "input_load_u8", offset);
      check(k.input_length() == m.input.size(), "input_length", k.input_length(), m.input.size());
      (void)k.input_load_u64(in.ConsumeIntegral<std::uint64_t>());
      break;
    }
    case kInputHandle: {
      const Handle h = k.input_handle();
      check(h == m.input_handle, "input_handle", h, m.input_handle);
      if (h != 0 && !m.input_written) check(k.text(h) == m.input, "input block content", h);
      break;
    }
    case kOutput: {
      k.set_output(pick_handle(in, m), in.ConsumeIntegral<std::uint64_t>());
      (void)k.output();
      break;
    }
    case kError: {
      const Handle h = pick_handle(in, m);
      k.set_error(h);
      check(k.error_text().size() == k.length(h), "error text length", h);
      break;
    }
    case kConfig: {
      const std::string key = in.ConsumeRandomLengthString(8);
      auto value = k.config(key);
      check(value.has_value() == (key == "key" || key == "empty"), "config lookup");
      break;
    }
    case kVarSet: {
      const std::string key = in.ConsumeRandomLengthString(8);
      const std::string value = in.ConsumeRandomLengthString(2048);
      if (k.set_var(key, as_bytes(value))) {
        if (value.empty()) {
          m.vars.erase(key);
        } else {
          m.vars[key] = value;
        }
      }
      break;
    }
    case kVarGet: {
      const std::string key = in.ConsumeRandomLengthString(8);
      auto value = k.var(key);
      auto it = m.vars.find(key);
      check(value.has_value() == (it != m.vars.end()), "var presence");
      if (value) {
        check(
            std::string(reinterpret_cast<const char*>(value->data()), value->size()) == it->second,
            "var content");
      }
      break;
    }
    case kClearVars:
      k.clear_vars();
      m.vars.clear();
      break;
    case kLog: {
      const auto level = static_cast<LogLevel>(in.ConsumeIntegralInRange(0, 4));
      k.log(level, k.text(pick_handle(in, m)));
      break;
    }
    case kHttp: {
      const Handle request = pick_handle(in, m);
      const Handle body = in.ConsumeBool() ? 0 : pick_handle(in, m);
      check(!k.http_request(request, body).has_value(), "HTTP without allowed_hosts");
      m.freed(request);
      m.freed(body);
      check(k.http_headers() == 0, "http_headers without being enabled");
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto shared = settings();
  FuzzedDataProvider in(data, size);
  Kernel kernel(shared);
  Model model;
  model.input = in.ConsumeRandomLengthString(64);
  model.begin_call(kernel);
  for (int steps = 0; steps < 256 && in.remaining_bytes() > 0; ++steps) step(in, kernel, model);
  return 0;
}
