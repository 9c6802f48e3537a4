;; Imports a host function gw does not have (env.proxy_future_thing): it must still link, and
;; calling it in proxy_on_request_headers must fail the case, naming it.
(module
  (import "env" "proxy_future_thing" (func $future (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 0x1000))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $future (i32.const 7)))
    (i32.const 0))
)
