// The kernel module's text and the host's mirror of its layout (kernel_module.hpp).
#include "kernel_module.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "warmpool/wasm/module.hpp"

namespace warmpool::extism::internal {
namespace {

// $control: the control block's address (the memory's last 64 bytes); $record: record i.
// Every handle and address arrives as an i64 and is checked before it is wrapped to i32.
constexpr std::string_view kKernelWat = R"((module
  (memory (export "memory") 1 65535)
  (data (i32.const 65472) "\08")  ;; top = 8

  (func $control (result i32)
    (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 64)))
  (func $record (param $c i32) (param $i i32) (result i32)
    (i32.sub (local.get $c) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 4))))
  (func $bound (param $c i32) (result i64)
    (i64.add (i64.load (local.get $c)) (i64.const 8)))

  ;; The record of the block starting at $h (live or not), or 0: a binary search, records
  ;; being in ascending offsets.
  (func $find (param $c i32) (param $h i64) (result i32)
    (local $lo i32) (local $hi i32) (local $mid i32) (local $r i32) (local $offset i64)
    (if (i64.gt_u (local.get $h) (i64.const 0xffffffff)) (then (return (i32.const 0))))
    (local.set $hi (i32.wrap_i64 (i64.load offset=8 (local.get $c))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $lo) (local.get $hi)))
        (local.set $mid (i32.shr_u (i32.add (local.get $lo) (local.get $hi)) (i32.const 1)))
        (local.set $r (call $record (local.get $c) (local.get $mid)))
        (local.set $offset (i64.load32_u (local.get $r)))
        (if (i64.eq (local.get $offset) (local.get $h)) (then (return (local.get $r))))
        (if (i64.lt_u (local.get $offset) (local.get $h))
          (then (local.set $lo (i32.add (local.get $mid) (i32.const 1))))
          (else (local.set $hi (local.get $mid))))
        (br $next)))
    (i32.const 0))

  ;; Grows memory so that $need bytes lie below the records and the control block, and moves
  ;; those to the new end; the place they left is zeroed. 0 when memory cannot grow.
  (func $grow (param $need i64) (result i32)
    (local $old i32) (local $new i32) (local $len i32) (local $want i64) (local $pages i32)
    (local.set $old (call $control))
    (local.set $len (i32.add (i32.shl (i32.wrap_i64 (i64.load offset=8 (local.get $old)))
                                      (i32.const 4))
                             (i32.const 64)))
    (local.set $want (i64.shr_u (i64.add (local.get $need) (i64.const 65599)) (i64.const 16)))
    (if (i64.gt_u (local.get $want) (i64.const 65535)) (then (return (i32.const 0))))
    (local.set $pages (i32.sub (i32.wrap_i64 (local.get $want)) (memory.size)))
    ;; At least double, within the maximum.
    (if (i32.lt_u (local.get $pages) (memory.size)) (then (local.set $pages (memory.size))))
    (if (i32.gt_u (i32.add (memory.size) (local.get $pages)) (i32.const 65535))
      (then (local.set $pages (i32.sub (i32.wrap_i64 (local.get $want)) (memory.size)))))
    (if (i32.eq (memory.grow (local.get $pages)) (i32.const -1)) (then (return (i32.const 0))))
    (local.set $new (call $control))
    (memory.copy (i32.sub (i32.add (local.get $new) (i32.const 64)) (local.get $len))
                 (i32.sub (i32.add (local.get $old) (i32.const 64)) (local.get $len))
                 (local.get $len))
    (memory.fill (i32.sub (i32.add (local.get $old) (i32.const 64)) (local.get $len))
                 (i32.const 0)
                 (select (local.get $len) (i32.sub (local.get $new) (local.get $old))
                         (i32.lt_u (local.get $len) (i32.sub (local.get $new) (local.get $old)))))
    (i32.const 1))

  (func (export "alloc") (param $n i64) (result i64)
    (local $c i32) (local $count i32) (local $i i32) (local $r i32) (local $top i64)
    (local $need i64)
    (if (i64.eqz (local.get $n)) (then (return (i64.const 0))))
    (local.set $c (call $control))
    (local.set $count (i32.wrap_i64 (i64.load offset=8 (local.get $c))))
    ;; The first freed block large enough.
    (if (i64.ne (i64.load offset=16 (local.get $c)) (i64.const 0))
      (then
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
            (local.set $r (call $record (local.get $c) (local.get $i)))
            (if (i32.and (i32.eqz (i32.load offset=12 (local.get $r)))
                         (i64.ge_u (i64.load32_u offset=4 (local.get $r)) (local.get $n)))
              (then
                (i32.store offset=8 (local.get $r) (i32.wrap_i64 (local.get $n)))
                (i32.store offset=12 (local.get $r) (i32.const 1))
                (i64.store offset=16 (local.get $c)
                           (i64.sub (i64.load offset=16 (local.get $c)) (i64.const 1)))
                (return (i64.load32_u (local.get $r)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))))
    (local.set $top (i64.load (local.get $c)))
    (if (i64.gt_u (local.get $n) (i64.sub (i64.load offset=40 (local.get $c)) (local.get $top)))
      (then (return (i64.const 0))))
    ;; The block, its slack and one more record must fit below the control block.
    (local.set $need
      (i64.add (i64.add (local.get $top) (local.get $n))
               (i64.add (i64.const 8)
                        (i64.shl (i64.extend_i32_u (i32.add (local.get $count) (i32.const 1)))
                                 (i64.const 4)))))
    (if (i64.gt_u (local.get $need) (i64.extend_i32_u (local.get $c)))
      (then
        (if (i32.eqz (call $grow (local.get $need))) (then (return (i64.const 0))))
        (local.set $c (call $control))))
    (local.set $r (call $record (local.get $c) (local.get $count)))
    (i32.store (local.get $r) (i32.wrap_i64 (local.get $top)))
    (i32.store offset=4 (local.get $r) (i32.wrap_i64 (local.get $n)))
    (i32.store offset=8 (local.get $r) (i32.wrap_i64 (local.get $n)))
    (i32.store offset=12 (local.get $r) (i32.const 1))
    (i64.store offset=8 (local.get $c) (i64.extend_i32_u (i32.add (local.get $count) (i32.const 1))))
    (i64.store (local.get $c) (i64.add (local.get $top) (local.get $n)))
    (local.get $top))

  (func $free (export "free") (param $h i64)
    (local $c i32) (local $r i32)
    (local.set $c (call $control))
    (local.set $r (call $find (local.get $c) (local.get $h)))
    (if (i32.eqz (local.get $r)) (then (return)))
    (if (i32.eqz (i32.load offset=12 (local.get $r))) (then (return)))
    (i32.store offset=12 (local.get $r) (i32.const 0))
    (i64.store offset=16 (local.get $c) (i64.add (i64.load offset=16 (local.get $c)) (i64.const 1)))
    (if (i32.and (i64.eq (local.get $h) (i64.load offset=32 (local.get $c)))
                 (i64.ne (i64.load offset=24 (local.get $c)) (i64.const 0)))
      (then (i64.store offset=24 (local.get $c) (i64.const 0)))))

  (func $length (export "length") (param $h i64) (result i64)
    (local $r i32)
    (local.set $r (call $find (call $control) (local.get $h)))
    (if (i32.eqz (local.get $r)) (then (return (i64.const 0))))
    (if (i32.eqz (i32.load offset=12 (local.get $r))) (then (return (i64.const 0))))
    (i64.load32_u offset=8 (local.get $r)))
  (func (export "length_unsafe") (param $h i64) (result i64)
    (call $length (local.get $h)))

  (func (export "load_u8") (param $p i64) (result i32)
    (if (i64.ge_u (local.get $p) (call $bound (call $control))) (then (return (i32.const 0))))
    (i32.load8_u (i32.wrap_i64 (local.get $p))))
  (func (export "load_u64") (param $p i64) (result i64)
    (if (i64.gt_u (local.get $p) (i64.sub (call $bound (call $control)) (i64.const 8)))
      (then (return (i64.const 0))))
    (i64.load (i32.wrap_i64 (local.get $p))))
  (func (export "store_u8") (param $p i64) (param $v i32)
    (if (i64.ge_u (local.get $p) (call $bound (call $control))) (then (return)))
    (i32.store8 (i32.wrap_i64 (local.get $p)) (local.get $v)))
  (func (export "store_u64") (param $p i64) (param $v i64)
    (if (i64.gt_u (local.get $p) (i64.sub (call $bound (call $control)) (i64.const 8)))
      (then (return)))
    (i64.store (i32.wrap_i64 (local.get $p)) (local.get $v)))

  (func (export "input_length") (result i64)
    (i64.load offset=24 (call $control)))
  (func (export "input_load_u8") (param $i i64) (result i32)
    (local $c i32)
    (local.set $c (call $control))
    (if (i64.ge_u (local.get $i) (i64.load offset=24 (local.get $c))) (then (return (i32.const 0))))
    (i32.load8_u (i32.wrap_i64 (i64.add (i64.load offset=32 (local.get $c)) (local.get $i)))))
  (func (export "input_load_u64") (param $i i64) (result i64)
    (local $c i32) (local $n i64)
    (local.set $c (call $control))
    (local.set $n (i64.load offset=24 (local.get $c)))
    (if (i32.or (i64.lt_u (local.get $n) (i64.const 8))
                (i64.gt_u (local.get $i) (i64.sub (local.get $n) (i64.const 8))))
      (then (return (i64.const 0))))
    (i64.load (i32.wrap_i64 (i64.add (i64.load offset=32 (local.get $c)) (local.get $i)))))
  (func (export "input_offset") (result i64)
    (local $c i32)
    (local.set $c (call $control))
    (if (result i64) (i64.eqz (i64.load offset=24 (local.get $c)))
      (then (i64.const 0))
      (else (i64.load offset=32 (local.get $c))))))
)";

}  // namespace

const wasm::LinkedModule& kernel_module(wasm::Engine engine) {
  static std::mutex mutex;
  static std::map<std::string_view, wasm::LinkedModule> compiled;
  std::lock_guard lock(mutex);
  if (auto found = compiled.find(engine.name()); found != compiled.end()) return found->second;
  const std::span bytes(reinterpret_cast<const std::uint8_t*>(kKernelWat.data()),
                        kKernelWat.size());
  auto module = wasm::Module::compile(engine, bytes, {}, "extism-kernel.wat");
  auto linked =
      module ? wasm::Linker().link(*module)
             : std::expected<wasm::LinkedModule, wasm::WasmError>(std::unexpected(module.error()));
  if (!linked) {  // the text is fixed: only a broken build gets here
    std::fprintf(stderr, "warmpool: the Extism kernel module does not compile: %s\n",
                 linked.error().message().c_str());
    std::abort();
  }
  return compiled.emplace(engine.name(), *linked).first->second;
}

std::uint8_t* KernelLayout::find(std::uint64_t handle) const noexcept {
  std::uint64_t low = 0, high = records();
  while (low < high) {
    const std::uint64_t middle = (low + high) / 2;
    std::uint8_t* r = record(middle);
    const std::uint64_t offset = word(r);
    if (offset == handle) return r;
    if (offset < handle) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return nullptr;
}

std::uint64_t KernelLayout::length(std::uint64_t handle) const noexcept {
  const std::uint8_t* r = find(handle);
  return r == nullptr || word(r + 12) == 0 ? 0 : word(r + 8);
}

void KernelLayout::free(std::uint64_t handle) noexcept {
  std::uint8_t* r = find(handle);
  if (r == nullptr || word(r + 12) == 0) return;
  set_word(r + 12, 0);
  set_field(16, field(16) + 1);
  if (handle == input_handle() && input_length() != 0) set_field(24, 0);
}

std::uint64_t KernelLayout::allocate_at_top(std::uint64_t n) noexcept {
  const std::uint64_t top = this->top(), count = records();
  if (n == 0 || field(16) != 0 || n > field(40) - top) return 0;
  if (top + n + kSlack + kRecordBytes * (count + 1) > control()) return 0;
  std::uint8_t* r = record(count);
  set_word(r, static_cast<std::uint32_t>(top));
  set_word(r + 4, static_cast<std::uint32_t>(n));
  set_word(r + 8, static_cast<std::uint32_t>(n));
  set_word(r + 12, 1);
  set_field(8, count + 1);
  set_field(0, top + n);
  return top;
}

void KernelLayout::begin(std::uint64_t cap) noexcept {
  std::memset(memory_.data(), 0, static_cast<std::size_t>(std::min(bound(), control())));
  std::memset(record(records() - 1), 0, static_cast<std::size_t>(kRecordBytes * records()));
  set_field(0, kFirstBlock);
  set_field(8, 0);
  set_field(16, 0);
  set_field(24, 0);
  set_field(32, 0);
  // Blocks stay below 4 GiB (u32 records); the memory's maximum is lower still.
  set_field(40, std::clamp<std::uint64_t>(cap, kFirstBlock, 0xf000'0000));
}

void KernelLayout::set_input(std::uint64_t handle, std::uint64_t length) noexcept {
  set_field(32, handle);
  set_field(24, length);
}

}  // namespace warmpool::extism::internal
