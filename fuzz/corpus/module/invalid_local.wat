(module
  (func (export "f") (result i32) (local.get 5)))
