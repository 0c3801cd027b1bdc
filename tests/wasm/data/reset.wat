;; reset — state in every place a guest can change, for reset(): any byte of
;; memory (some set by a data segment), a mutable global that is not exported,
;; a table, and passive data/element segments that can be dropped.
(module
  (memory (export "memory") 2)
  (data (i32.const 70000) "initial bytes")
  (data $passive "passive")
  (global $hidden (mut i64) (i64.const 7))
  (table 2 funcref)
  (func $five (result i32) (i32.const 5))
  (elem $passive_elem func $five)
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
  (func (export "set_hidden") (param i64) (global.set $hidden (local.get 0)))
  (func (export "hidden") (result i64) (global.get $hidden))
  (func (export "drop_segments") (data.drop $passive) (elem.drop $passive_elem))
  ;; Copies both passive segments in and calls through the table: traps once
  ;; they have been dropped.
  (func (export "use_segments") (result i32)
    (memory.init $passive (i32.const 0) (i32.const 0) (i32.const 7))
    (table.init $passive_elem (i32.const 1) (i32.const 0) (i32.const 1))
    (call_indirect (result i32) (i32.const 1))))
