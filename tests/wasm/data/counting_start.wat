;; A start function that loops ten times and leaves its count in a global:
;; instantiation runs it under the limits of one call.
(module
  (global $count (mut i32) (i32.const 0))
  (func $start (local i32)
    (loop $again
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (br_if $again (i32.lt_s (local.get 0) (i32.const 10))))
    (global.set $count (local.get 0)))
  (start $start)
  (func (export "counted") (result i32) (global.get $count)))
