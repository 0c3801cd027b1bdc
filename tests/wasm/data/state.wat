;; state — a mutable global, memory and a table that calls change, for reset().
(module
  (memory (export "memory") 1 4)
  (global $calls (mut i32) (i32.const 0))
  (table $slots 2 funcref)
  (elem (i32.const 0) $one)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (elem declare func $two)
  ;; Bumps the global and a counter at address 4096 (past the first page of
  ;; data a lazy reset might copy), and points table slot 0 at $two.
  (func (export "bump") (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store (i32.const 4096) (i32.add (i32.load (i32.const 4096)) (i32.const 1)))
    (table.set $slots (i32.const 0) (ref.func $two))
    (global.get $calls))
  (func (export "calls") (result i32) (global.get $calls))
  (func (export "stored") (result i32) (i32.load (i32.const 4096)))
  (func (export "slot") (result i32) (call_indirect (result i32) (i32.const 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
