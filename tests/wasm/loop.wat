;; Never returns from proxy_on_request_headers: the host must stop it after its call timeout.
(module
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 0x1000))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func $spin_forever
    (loop $again (br $again)))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $spin_forever)
    (i32.const 0))
)
