;; A start function that never returns: only fuel or a deadline ends it.
(module
  (func $start (loop $forever (br $forever)))
  (start $start)
  (func (export "f")))
