;; An Extism plugin that reads and writes files through WASI preopen fd 3, for the tests of
;; allowed_paths: `read` outputs the file named by the input, `write` writes the input to
;; out.txt, `hoard` opens a.txt 200 times without closing it. On a WASI error each outputs "E"
;; followed by the errno as one byte.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (data (i32.const 512) "out.txt")
  (data (i32.const 600) "a.txt")

  ;; Copies the input to guest memory at 1024; returns its length.
  (func $input_to_memory (result i32)
    (local $i i32) (local $n i32)
    (local.set $n (i32.wrap_i64 (call $input_length)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (i32.add (i32.const 1024) (local.get $i))
                    (call $input_load_u8 (i64.extend_i32_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $n))
  ;; Outputs guest memory [ptr, ptr + len).
  (func $output (param $ptr i32) (param $len i32)
    (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))
                        (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $output_set (local.get $h) (i64.extend_i32_u (local.get $len))))
  (func $fail (param $errno i32) (result i32)
    (i32.store8 (i32.const 0) (i32.const 69))
    (i32.store8 (i32.const 1) (local.get $errno))
    (call $output (i32.const 0) (i32.const 2))
    (i32.const 0))

  (func (export "read") (result i32)
    (local $errno i32)
    (local.set $errno
      (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (call $input_to_memory)
                       (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))
    (if (local.get $errno) (then (return (call $fail (local.get $errno)))))
    (i32.store (i32.const 32) (i32.const 4096))
    (i32.store (i32.const 36) (i32.const 4096))
    (local.set $errno (call $fd_read (i32.load (i32.const 16)) (i32.const 32) (i32.const 1)
                                     (i32.const 48)))
    (if (local.get $errno) (then (return (call $fail (local.get $errno)))))
    (drop (call $fd_close (i32.load (i32.const 16))))
    (call $output (i32.const 4096) (i32.load (i32.const 48)))
    (i32.const 0))

  (func (export "write") (result i32)
    (local $errno i32)
    (i32.store (i32.const 32) (i32.const 1024))
    (i32.store (i32.const 36) (call $input_to_memory))
    ;; oflags CREAT|TRUNC, rights FD_WRITE
    (local.set $errno
      (call $path_open (i32.const 3) (i32.const 0) (i32.const 512) (i32.const 7)
                       (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 16)))
    (if (local.get $errno) (then (return (call $fail (local.get $errno)))))
    (local.set $errno (call $fd_write (i32.load (i32.const 16)) (i32.const 32) (i32.const 1)
                                      (i32.const 48)))
    (if (local.get $errno) (then (return (call $fail (local.get $errno)))))
    (drop (call $fd_close (i32.load (i32.const 16))))
    (call $output (i32.const 0) (i32.const 0))
    (i32.const 0))
  (func (export "hoard") (result i32)
    (local $i i32) (local $errno i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const 200)))
        (local.set $errno
          (call $path_open (i32.const 3) (i32.const 0) (i32.const 600) (i32.const 5)
                           (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))
        (if (local.get $errno) (then (return (call $fail (local.get $errno)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $output (i32.const 0) (i32.const 0))
    (i32.const 0)))
