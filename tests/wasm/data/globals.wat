;; globals — state that V8's reset() puts back in place: any byte of memory
;; (some set by a data segment) and mutable globals of every numeric type that
;; no export exposes. No table write and no segment drop, so nothing forces a
;; re-instantiation; `grow` makes the memory larger than the snapshot.
(module
  (memory (export "memory") 2)
  (data (i32.const 70000) "initial bytes")
  (global $i32 (mut i32) (i32.const -3))
  (global $i64 (mut i64) (i64.const 7))
  (global $f32 (mut f32) (f32.const 1.5))
  (global $f64 (mut f64) (f64.const 2.25))
  (func (export "poke") (param $addr i32) (param $value i32)
    (i32.store8 (local.get $addr) (local.get $value)))
  ;; A hash of every byte of memory.
  (func (export "digest") (result i64)
    (local $at i32) (local $h i64)
    (loop $next
      (local.set $h (i64.add (i64.mul (local.get $h) (i64.const 1099511628211))
                             (i64.load (local.get $at))))
      (local.set $at (i32.add (local.get $at) (i32.const 8)))
      (br_if $next (i32.lt_u (local.get $at) (i32.mul (memory.size) (i32.const 65536)))))
    (local.get $h))
  (func (export "scramble")
    (global.set $i32 (i32.const 100))
    (global.set $i64 (i64.const -42))
    (global.set $f32 (f32.const -8))
    (global.set $f64 (f64.const 1e300)))
  (func (export "get_i32") (result i32) (global.get $i32))
  (func (export "get_i64") (result i64) (global.get $i64))
  (func (export "get_f32") (result f32) (global.get $f32))
  (func (export "get_f64") (result f64) (global.get $f64))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "pages") (result i32) (memory.size)))
