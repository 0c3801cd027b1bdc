;; abi — bytes-ABI corner cases: a bump allocator, an echo, a counter of
;; wp_free calls, and exports that break the contract.
(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  (global $frees (mut i32) (i32.const 0))
  (func (export "wp_alloc") (param $size i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $ptr))
  (func (export "wp_free") (param i32)
    (global.set $frees (i32.add (global.get $frees) (i32.const 1))))
  (func (export "frees") (result i32) (global.get $frees))
  (func (export "echo") (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))
  ;; Output starting inside memory but running past its end.
  (func (export "past_end") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 65000) (i64.const 32)) (i64.const 1000)))
  (func (export "not_bytes") (param i32) (result i32) (local.get 0)))
