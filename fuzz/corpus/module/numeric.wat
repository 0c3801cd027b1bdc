(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "wide") (param i64 f32 f64) (result f64)
    (f64.add (f64.convert_i64_s (local.get 0))
             (f64.add (f64.promote_f32 (local.get 1)) (local.get 2))))
  (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0))))
