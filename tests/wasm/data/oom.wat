;; oom — grows memory until refused, then traps the way a C program's abort()
;; on a failed malloc does: the host should report the memory limit.
(module
  (memory (export "memory") 1)
  (func (export "oom")
    (loop $more
      (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (unreachable)))
