;; numbers — one export per value type, for the numeric call path.
(module
  (func (export "add_i32") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "mul_i64") (param i64 i64) (result i64)
    (i64.mul (local.get 0) (local.get 1)))
  (func (export "half_f32") (param f32) (result f32)
    (f32.div (local.get 0) (f32.const 2)))
  (func (export "sqrt_f64") (param f64) (result f64)
    (f64.sqrt (local.get 0)))
  (func (export "divmod") (param i32 i32) (result i32 i32)
    (i32.div_s (local.get 0) (local.get 1))
    (i32.rem_s (local.get 0) (local.get 1)))
  ;; Not callable through warmpool (v128): must not be listed.
  (func (export "vector") (result v128) (v128.const i32x4 0 0 0 0)))
