;; An Extism plugin that drives path_link, path_symlink, path_readlink, path_rename and
;; fd_renumber (and path_open, fd_read, fd_close and path_filestat_get to look at what they did)
;; with the arguments exactly as the test gives them, for tests/extism/wasi_links_test.cpp.
;;
;; Input: six little-endian u32 (a0 a1 a2 a3, then the lengths L1 and L2 of two strings), then
;; the strings S1 and S2. Output: the call's errno as a u32, then what the export adds:
;;   link      path_link(a0, a1, S1, a0 -> a2, S2)                 errno
;;   symlink   path_symlink(S1, a0, S2)                            errno
;;   rename    path_rename(a0, S1, a2, S2)                         errno
;;   readlink  path_readlink(a0, S1, buffer, a1): the buffer is 64 bytes at 264, filled with
;;             0xAA first, unless a2 is not 0, then it is at a2    errno, bufused, 64 bytes
;;   renumber  fd_renumber(a0, a1)                                 errno
;;   open      path_open(a0, lookupflags a1, S1, oflags a2, rights a3)   errno, fd
;;   read      fd_read(a0) of up to 64 bytes                       errno, n, 64 bytes
;;   close     fd_close(a0)                                        errno
;;   stat      path_filestat_get(a0, lookupflags a1, S1)           errno, filetype, nlink
;;   hostile   six calls with a pointer outside memory (S1 names a symlink beneath fd 3):
;;             symlink's target, symlink's path, readlink's path, readlink's buffer,
;;             readlink's bufused, link's old path                 six errnos
(module
  (import "wasi_snapshot_preview1" "path_link"
    (func $path_link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_readlink"
    (func $path_readlink (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename"
    (func $path_rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_renumber" (func $fd_renumber (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)

  ;; The input, copied to 1024: a0..a3 at 1024..1036, L1 at 1040, L2 at 1044, S1 at 1048.
  (func $load_input
    (local $i i32) (local $n i32)
    (local.set $n (i32.wrap_i64 (call $input_length)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (i32.add (i32.const 1024) (local.get $i))
                    (call $input_load_u8 (i64.extend_i32_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
  (func $arg (param $index i32) (result i32)
    (i32.load (i32.add (i32.const 1024) (i32.shl (local.get $index) (i32.const 2)))))
  (func $s1 (result i32) (i32.const 1048))
  (func $l1 (result i32) (call $arg (i32.const 4)))
  (func $s2 (result i32) (i32.add (i32.const 1048) (call $l1)))
  (func $l2 (result i32) (call $arg (i32.const 5)))

  ;; Outputs the results at [256, 256 + len).
  (func $finish (param $len i32) (result i32)
    (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))
                        (i32.load8_u (i32.add (i32.const 256) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $output_set (local.get $h) (i64.extend_i32_u (local.get $len)))
    (i32.const 0))

  (func (export "link") (result i32)
    (call $load_input)
    (i32.store (i32.const 256)
      (call $path_link (call $arg (i32.const 0)) (call $arg (i32.const 1)) (call $s1) (call $l1)
                       (call $arg (i32.const 2)) (call $s2) (call $l2)))
    (call $finish (i32.const 4)))

  (func (export "symlink") (result i32)
    (call $load_input)
    (i32.store (i32.const 256)
      (call $path_symlink (call $s1) (call $l1) (call $arg (i32.const 0)) (call $s2) (call $l2)))
    (call $finish (i32.const 4)))

  (func (export "rename") (result i32)
    (call $load_input)
    (i32.store (i32.const 256)
      (call $path_rename (call $arg (i32.const 0)) (call $s1) (call $l1)
                         (call $arg (i32.const 2)) (call $s2) (call $l2)))
    (call $finish (i32.const 4)))

  (func (export "readlink") (result i32)
    (local $i i32) (local $buffer i32)
    (call $load_input)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const 64)))
        (i32.store8 (i32.add (i32.const 264) (local.get $i)) (i32.const 0xAA))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 260) (i32.const 0))
    (local.set $buffer (select (call $arg (i32.const 2)) (i32.const 264) (call $arg (i32.const 2))))
    (i32.store (i32.const 256)
      (call $path_readlink (call $arg (i32.const 0)) (call $s1) (call $l1)
                           (local.get $buffer) (call $arg (i32.const 1)) (i32.const 260)))
    (call $finish (i32.const 72)))

  (func (export "renumber") (result i32)
    (call $load_input)
    (i32.store (i32.const 256)
      (call $fd_renumber (call $arg (i32.const 0)) (call $arg (i32.const 1))))
    (call $finish (i32.const 4)))

  (func (export "open") (result i32)
    (call $load_input)
    (i32.store (i32.const 260) (i32.const 0))
    (i32.store (i32.const 256)
      (call $path_open (call $arg (i32.const 0)) (call $arg (i32.const 1)) (call $s1) (call $l1)
                       (call $arg (i32.const 2)) (i64.extend_i32_u (call $arg (i32.const 3)))
                       (i64.const 0) (i32.const 0) (i32.const 260)))
    (call $finish (i32.const 8)))

  (func (export "read") (result i32)
    (call $load_input)
    (i32.store (i32.const 240) (i32.const 264))
    (i32.store (i32.const 244) (i32.const 64))
    (i32.store (i32.const 260) (i32.const 0))
    (i32.store (i32.const 256)
      (call $fd_read (call $arg (i32.const 0)) (i32.const 240) (i32.const 1) (i32.const 260)))
    (call $finish (i32.const 72)))

  (func (export "close") (result i32)
    (call $load_input)
    (i32.store (i32.const 256) (call $fd_close (call $arg (i32.const 0))))
    (call $finish (i32.const 4)))

  ;; The filestat is written at 512: filetype at 528, nlink at 536.
  (func (export "stat") (result i32)
    (call $load_input)
    (i32.store (i32.const 256)
      (call $path_filestat_get (call $arg (i32.const 0)) (call $arg (i32.const 1)) (call $s1)
                               (call $l1) (i32.const 512)))
    (i32.store (i32.const 260) (i32.load8_u (i32.const 528)))
    (i32.store (i32.const 264) (i32.load (i32.const 536)))
    (call $finish (i32.const 12)))

  (func (export "hostile") (result i32)
    (call $load_input)
    (i32.store (i32.const 256)
      (call $path_symlink (i32.const 0xfffffff0) (i32.const 100) (i32.const 3) (i32.const 1048)
                          (i32.const 1)))
    (i32.store (i32.const 260)
      (call $path_symlink (call $s1) (call $l1) (i32.const 3) (i32.const 0xfffffff0)
                          (i32.const 100)))
    (i32.store (i32.const 264)
      (call $path_readlink (i32.const 3) (i32.const 0xfffffff0) (i32.const 100) (i32.const 512)
                           (i32.const 64) (i32.const 600)))
    (i32.store (i32.const 268)
      (call $path_readlink (i32.const 3) (call $s1) (call $l1) (i32.const 0xfffffff0)
                           (i32.const 100) (i32.const 600)))
    (i32.store (i32.const 272)
      (call $path_readlink (i32.const 3) (call $s1) (call $l1) (i32.const 512) (i32.const 64)
                           (i32.const 0xffffffff)))
    (i32.store (i32.const 276)
      (call $path_link (i32.const 3) (i32.const 0) (i32.const 0xfffffff0) (i32.const 100)
                       (i32.const 3) (call $s1) (call $l1)))
    (call $finish (i32.const 24))))
