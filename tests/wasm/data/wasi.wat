;; wasi — exercises the WASI subset by hand: output capture, argv, proc_exit.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "out\n")
  (data (i32.const 200) "err\n")
  ;; iovecs at 0 (stdout) and 8 (stderr); nwritten at 16.
  (data (i32.const 0) "\64\00\00\00\04\00\00\00\c8\00\00\00\04\00\00\00")
  (func (export "speak") (result i32)
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
    (drop (call $fd_write (i32.const 2) (i32.const 8) (i32.const 1) (i32.const 16)))
    (i32.load (i32.const 16)))
  ;; fd_write with an iovec pointing past the end of memory: EFAULT (21).
  (func (export "bad_write") (result i32)
    (i32.store (i32.const 32) (i32.const 70000))
    (i32.store (i32.const 36) (i32.const 4))
    (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 16)))
  ;; Length of argv[0] including its NUL, read back through args_get.
  (func (export "argv0_len") (result i32)
    (drop (call $args_sizes_get (i32.const 300) (i32.const 304)))
    (drop (call $args_get (i32.const 400) (i32.const 500)))
    (i32.load (i32.const 304)))
  (func (export "exit") (param i32) (result i32)
    (call $proc_exit (local.get 0))
    (i32.const 7)))
