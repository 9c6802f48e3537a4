;; Traps (wasm `unreachable`, which is how a Rust panic ends) in proxy_on_request_headers for
;; :path /boom, from a function named explode_in_filter. Every request counts requests_total,
;; so a test can see metrics survive the VM restart that follows a trap.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_hdr (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $incr (param i32 i64) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 0x1000))
  (global $requests (mut i32) (i32.const 0))
  (data (i32.const 0x200) ":path")
  (data (i32.const 0x210) "/boom")
  (data (i32.const 0x220) "requests_total")
  (data (i32.const 0x240) "about to explode")

  (func (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $p))

  (func $explode_in_filter
    (unreachable))

  (func $is_boom (result i32)
    (if (call $get_hdr (i32.const 0) (i32.const 0x200) (i32.const 5) (i32.const 0x100) (i32.const 0x104))
      (then (return (i32.const 0))))
    (if (i32.ne (i32.load (i32.const 0x104)) (i32.const 5)) (then (return (i32.const 0))))
    (i32.eq (i32.load (i32.load (i32.const 0x100))) (i32.load (i32.const 0x210))))

  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $define (i32.const 0) (i32.const 0x220) (i32.const 14) (i32.const 0x108)))
    (global.set $requests (i32.load (i32.const 0x108)))
    (i32.const 1))
  (func $proxy_on_request_headers (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $incr (global.get $requests) (i64.const 1)))
    (if (call $is_boom)
      (then
        (drop (call $log (i32.const 5) (i32.const 0x240) (i32.const 16)))
        (call $explode_in_filter)))
    (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
)
