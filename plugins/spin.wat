;; spin — never returns: the host must stop it by fuel or deadline.
;;   spin: [] -> []                    an empty infinite loop
;;   spin_bytes: (i32 ptr, i32 len) -> i64   the same behind the bytes ABI
;;                                           (e.g. a POST to the HTTP server)
;; Hand-written text so no compiler can reason the loop away.
(module
  (memory (export "memory") 1)

  ;; The bytes ABI needs an allocator. spin never returns, so one scratch
  ;; area after the first KiB, grown on demand, serves every call.
  (func (export "wp_alloc") (param $size i32) (result i32)
    (local $end i64)
    (local.set $end (i64.add (i64.const 1024) (i64.extend_i32_u (local.get $size))))
    (block $fits
      (br_if $fits (i64.le_u (local.get $end)
                             (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16))))
      (if (i32.eq (memory.grow (i32.sub (i32.wrap_i64 (i64.shr_u (i64.add (local.get $end)
                                                                          (i64.const 65535))
                                                                 (i64.const 16)))
                                         (memory.size)))
                  (i32.const -1))
        (then (return (i32.const 0)))))
    (i32.const 1024))

  (func $spin (export "spin")
    (loop $forever (br $forever)))

  (func (export "spin_bytes") (param $ptr i32) (param $len i32) (result i64)
    (call $spin)
    (unreachable)))
