;; unknown_import — needs a host function warmpool does not provide.
(module
  (import "env" "foo" (func $foo))
  (func (export "run") (call $foo)))
