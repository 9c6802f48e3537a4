;; Asks for 5000 more pages (over 300 MiB) in proxy_on_request_headers: over the host's
;; 256 MiB limit.
(module
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 0x1000))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func $hog_memory
    (drop (memory.grow (i32.const 5000))))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $hog_memory)
    (i32.const 0))
)
