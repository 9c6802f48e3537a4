;; A proxy-wasm 0.2.1 filter written by hand, for gw's host tests. It uses one host-function
;; area per request path:
;;   (any other path)  Basic auth: no credentials → 401 with x-denied, wrong → 403, right →
;;                     x-auth-user: admin added, authorization removed; auth_denied_total counts
;;   /call             proxy_http_call to cluster "auth" (GET /verify), pauses; the answer's
;;                     :status 200 adds x-verified: yes and resumes, anything else → 403
;;   /shared           shared data "hits" set and read back into x-shared, then a CAS that
;;                     must fail (logs "cas mismatch")
;;   /props            properties source.address → x-source, plugin_name → x-plugin,
;;                     request.path → x-path; sets property my.flag = on
;;   /body             the request body is buffered to its end and "prefix:" prepended
;; Responses get x-filter: seen. Ticks (every 1000 ms) count ticks_total and log "tick". Queue
;; "jobs" items are logged. Connections: data starting with 'q' closes the connection, other
;; data gets ">" prepended. on_vm_start writes "hello from stdout" with WASI fd_write. A plugin
;; configuration of "reject" is refused.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_hdr (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_hdr (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace_hdr (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_remove_header_map_value" (func $remove_hdr (param i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $local (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $incr (param i32 i64) (result i32)))
  (import "env" "proxy_get_shared_data" (func $get_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $set_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_tick_period_milliseconds" (func $set_tick (param i32) (result i32)))
  (import "env" "proxy_http_call" (func $http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $set_effective (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_close_stream" (func $close (param i32) (result i32)))
  (import "env" "proxy_get_property" (func $get_prop (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_property" (func $set_prop (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buf (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes" (func $set_buf (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_register_shared_queue" (func $register_queue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_dequeue_shared_queue" (func $dequeue (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  ;; Imported but never called, as SDKs import every host function.
  (import "env" "proxy_grpc_call" (func $grpc_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 2)
  ;; Return slots: 0x100 pointer, 0x104 size, 0x108 cas, 0x10c id or token, 0x110 bytes written.
  (global $heap (mut i32) (i32.const 0x8000))
  (global $denied (mut i32) (i32.const 0))
  (global $ticks (mut i32) (i32.const 0))
  (global $queue (mut i32) (i32.const 0))
  (global $waiting (mut i32) (i32.const 0))

  (data (i32.const 0x1000) ":path")
  (data (i32.const 0x1010) "authorization")
  (data (i32.const 0x1020) "Basic YWRtaW46c2VjcmV0")
  (data (i32.const 0x1040) "x-auth-user")
  (data (i32.const 0x1050) "admin")
  (data (i32.const 0x1060) "Invalid Token\n")
  (data (i32.const 0x1070) "auth_denied_total")
  (data (i32.const 0x1090) "x-filter")
  (data (i32.const 0x10a0) "seen")
  (data (i32.const 0x10b0) "denied: no credentials")
  (data (i32.const 0x10d0) "ticks_total")
  (data (i32.const 0x10e0) "tick")
  (data (i32.const 0x10f0) "/call")
  (data (i32.const 0x1100) "auth")
  (data (i32.const 0x1150) ":status")
  (data (i32.const 0x1160) "200")
  (data (i32.const 0x1170) "x-verified")
  (data (i32.const 0x1180) "yes")
  (data (i32.const 0x1190) "call answered")
  (data (i32.const 0x11a0) "Forbidden\n")
  (data (i32.const 0x11b0) "/shared")
  (data (i32.const 0x11c0) "hits")
  (data (i32.const 0x11d0) "cas mismatch")
  (data (i32.const 0x11e0) "x-shared")
  (data (i32.const 0x11f0) "/props")
  ;; {":method": GET, ":path": /verify, ":authority": auth} in proxy-wasm's map encoding (70 bytes)
  (data (i32.const 0x1200)
    "\03\00\00\00" "\07\00\00\00\03\00\00\00" "\05\00\00\00\07\00\00\00" "\0a\00\00\00\04\00\00\00"
    ":method\00GET\00:path\00/verify\00:authority\00auth\00")
  (data (i32.const 0x1250) "source\00address")
  (data (i32.const 0x1260) "x-source")
  (data (i32.const 0x1270) "plugin_name")
  (data (i32.const 0x1280) "x-plugin")
  (data (i32.const 0x1290) "my\00flag")
  (data (i32.const 0x12a0) "on")
  (data (i32.const 0x12b0) "prefix:")
  (data (i32.const 0x12c0) "hello from stdout\n")
  ;; an iovec: 18 bytes at 0x12c0
  (data (i32.const 0x12e0) "\c0\12\00\00\12\00\00\00")
  (data (i32.const 0x1300) "jobs")
  (data (i32.const 0x1310) "configured")
  ;; {x-denied: 1} (23 bytes)
  (data (i32.const 0x1340) "\01\00\00\00" "\08\00\00\00\01\00\00\00" "x-denied\00" "1\00")
  (data (i32.const 0x1360) "unauthenticated")
  (data (i32.const 0x1380) ">")
  (data (i32.const 0x1390) "x-path")
  (data (i32.const 0x13a0) "request\00path")
  (data (i32.const 0x13c0) "reject")
  (data (i32.const 0x13d0) "/body")

  (func (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (block $fits
      (br_if $fits (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
      (drop (memory.grow (i32.add (i32.const 1)
        (i32.div_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 65536))))))
    (local.get $p))

  (func $eq (param $a i32) (param $alen i32) (param $b i32) (param $blen i32) (result i32)
    (local $i i32)
    (if (i32.ne (local.get $alen) (local.get $blen)) (then (return (i32.const 0))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $alen)))
        (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i)))
                    (i32.load8_u (i32.add (local.get $b) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  (func $path_is (param $s i32) (param $len i32) (result i32)
    (if (call $get_hdr (i32.const 0) (i32.const 0x1000) (i32.const 5) (i32.const 0x100) (i32.const 0x104))
      (then (return (i32.const 0))))
    (call $eq (i32.load (i32.const 0x100)) (i32.load (i32.const 0x104)) (local.get $s) (local.get $len)))

  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))

  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    (drop (call $fd_write (i32.const 1) (i32.const 0x12e0) (i32.const 1) (i32.const 0x110)))
    (i32.const 1))

  (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
    (if (i32.eqz (call $get_buf (i32.const 7) (i32.const 0) (local.get $size) (i32.const 0x100) (i32.const 0x104)))
      (then
        (if (call $eq (i32.load (i32.const 0x100)) (i32.load (i32.const 0x104)) (i32.const 0x13c0) (i32.const 6))
          (then (return (i32.const 0))))
        (drop (call $log (i32.const 1) (i32.load (i32.const 0x100)) (i32.load (i32.const 0x104))))))
    (drop (call $define (i32.const 0) (i32.const 0x1070) (i32.const 17) (i32.const 0x10c)))
    (global.set $denied (i32.load (i32.const 0x10c)))
    (drop (call $define (i32.const 0) (i32.const 0x10d0) (i32.const 11) (i32.const 0x10c)))
    (global.set $ticks (i32.load (i32.const 0x10c)))
    (drop (call $set_tick (i32.const 1000)))
    (drop (call $register_queue (i32.const 0x1300) (i32.const 4) (i32.const 0x10c)))
    (global.set $queue (i32.load (i32.const 0x10c)))
    (drop (call $log (i32.const 2) (i32.const 0x1310) (i32.const 10)))
    (i32.const 1))

  (func $shared
    (local $cas i32)
    (drop (call $set_shared (i32.const 0x11c0) (i32.const 4) (i32.const 0x11b0) (i32.const 7) (i32.const 0)))
    (if (i32.eqz (call $get_shared (i32.const 0x11c0) (i32.const 4) (i32.const 0x100) (i32.const 0x104) (i32.const 0x108)))
      (then
        (drop (call $add_hdr (i32.const 0) (i32.const 0x11e0) (i32.const 8)
          (i32.load (i32.const 0x100)) (i32.load (i32.const 0x104))))
        (local.set $cas (i32.load (i32.const 0x108)))
        (if (i32.eq (i32.const 8)
              (call $set_shared (i32.const 0x11c0) (i32.const 4) (i32.const 0x10f0) (i32.const 5)
                (i32.add (local.get $cas) (i32.const 1))))
          (then (drop (call $log (i32.const 3) (i32.const 0x11d0) (i32.const 12))))))))

  (func $props
    (if (i32.eqz (call $get_prop (i32.const 0x1250) (i32.const 14) (i32.const 0x100) (i32.const 0x104)))
      (then (drop (call $add_hdr (i32.const 0) (i32.const 0x1260) (i32.const 8)
        (i32.load (i32.const 0x100)) (i32.load (i32.const 0x104))))))
    (if (i32.eqz (call $get_prop (i32.const 0x1270) (i32.const 11) (i32.const 0x100) (i32.const 0x104)))
      (then (drop (call $add_hdr (i32.const 0) (i32.const 0x1280) (i32.const 8)
        (i32.load (i32.const 0x100)) (i32.load (i32.const 0x104))))))
    (if (i32.eqz (call $get_prop (i32.const 0x13a0) (i32.const 12) (i32.const 0x100) (i32.const 0x104)))
      (then (drop (call $add_hdr (i32.const 0) (i32.const 0x1390) (i32.const 6)
        (i32.load (i32.const 0x100)) (i32.load (i32.const 0x104))))))
    (drop (call $set_prop (i32.const 0x1290) (i32.const 7) (i32.const 0x12a0) (i32.const 2))))

  (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
    (if (call $path_is (i32.const 0x10f0) (i32.const 5))
      (then
        (drop (call $http_call (i32.const 0x1100) (i32.const 4) (i32.const 0x1200) (i32.const 70)
          (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 5000) (i32.const 0x10c)))
        (global.set $waiting (local.get $ctx))
        (return (i32.const 1))))
    (if (call $path_is (i32.const 0x11b0) (i32.const 7)) (then (call $shared) (return (i32.const 0))))
    (if (call $path_is (i32.const 0x11f0) (i32.const 6)) (then (call $props) (return (i32.const 0))))
    (if (call $path_is (i32.const 0x13d0) (i32.const 5)) (then (return (i32.const 0))))
    ;; Basic auth
    (if (call $get_hdr (i32.const 0) (i32.const 0x1010) (i32.const 13) (i32.const 0x100) (i32.const 0x104))
      (then
        (drop (call $incr (global.get $denied) (i64.const 1)))
        (drop (call $log (i32.const 3) (i32.const 0x10b0) (i32.const 22)))
        (drop (call $local (i32.const 401) (i32.const 0x1360) (i32.const 15) (i32.const 0x1060) (i32.const 14)
          (i32.const 0x1340) (i32.const 23) (i32.const -1)))
        (return (i32.const 1))))
    (if (i32.eqz (call $eq (i32.load (i32.const 0x100)) (i32.load (i32.const 0x104)) (i32.const 0x1020) (i32.const 22)))
      (then
        (drop (call $incr (global.get $denied) (i64.const 1)))
        (drop (call $local (i32.const 403) (i32.const 0) (i32.const 0) (i32.const 0x11a0) (i32.const 10)
          (i32.const 0) (i32.const 0) (i32.const -1)))
        (return (i32.const 1))))
    (drop (call $add_hdr (i32.const 0) (i32.const 0x1040) (i32.const 11) (i32.const 0x1050) (i32.const 5)))
    (drop (call $remove_hdr (i32.const 0) (i32.const 0x1010) (i32.const 13)))
    (i32.const 0))

  (func (export "proxy_on_request_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
    (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
    (drop (call $set_buf (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0x12b0) (i32.const 7)))
    (i32.const 0))

  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $replace_hdr (i32.const 2) (i32.const 0x1090) (i32.const 8) (i32.const 0x10a0) (i32.const 4)))
    (i32.const 0))

  (func (export "proxy_on_http_call_response") (param $root i32) (param $token i32) (param $nh i32) (param $body i32) (param $nt i32)
    (drop (call $set_effective (global.get $waiting)))
    (drop (call $log (i32.const 2) (i32.const 0x1190) (i32.const 13)))
    (if (i32.eqz (call $get_hdr (i32.const 6) (i32.const 0x1150) (i32.const 7) (i32.const 0x100) (i32.const 0x104)))
      (then
        (if (call $eq (i32.load (i32.const 0x100)) (i32.load (i32.const 0x104)) (i32.const 0x1160) (i32.const 3))
          (then
            (drop (call $add_hdr (i32.const 0) (i32.const 0x1170) (i32.const 10) (i32.const 0x1180) (i32.const 3)))
            (drop (call $continue (i32.const 0)))
            (return)))))
    (drop (call $local (i32.const 403) (i32.const 0) (i32.const 0) (i32.const 0x11a0) (i32.const 10)
      (i32.const 0) (i32.const 0) (i32.const -1))))

  (func (export "proxy_on_tick") (param i32)
    (drop (call $incr (global.get $ticks) (i64.const 1)))
    (drop (call $log (i32.const 1) (i32.const 0x10e0) (i32.const 4))))

  (func (export "proxy_on_queue_ready") (param $root i32) (param $queue i32)
    (if (i32.eqz (call $dequeue (local.get $queue) (i32.const 0x100) (i32.const 0x104)))
      (then (drop (call $log (i32.const 2) (i32.load (i32.const 0x100)) (i32.load (i32.const 0x104)))))))

  (func (export "proxy_on_new_connection") (param i32) (result i32) (i32.const 0))

  (func (export "proxy_on_downstream_data") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
    (if (i32.eqz (call $get_buf (i32.const 2) (i32.const 0) (local.get $size) (i32.const 0x100) (i32.const 0x104)))
      (then
        (if (i32.eq (i32.load8_u (i32.load (i32.const 0x100))) (i32.const 113))
          (then
            (drop (call $close (i32.const 2)))
            (return (i32.const 1))))))
    (drop (call $set_buf (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 0x1380) (i32.const 1)))
    (i32.const 0))

  (func (export "proxy_on_upstream_data") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32))
)
