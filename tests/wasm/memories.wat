;; Six memories that each grow by 1000 pages (62.5 MiB) in proxy_on_request_headers: each
;; under the host's 256 MiB, all together over it.
(module
  (memory (export "memory") 1)
  (memory $m1 1) (memory $m2 1) (memory $m3 1) (memory $m4 1) (memory $m5 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 0x1000))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func $grow_every_memory
    (drop (memory.grow 0 (i32.const 1000)))
    (drop (memory.grow $m1 (i32.const 1000)))
    (drop (memory.grow $m2 (i32.const 1000)))
    (drop (memory.grow $m3 (i32.const 1000)))
    (drop (memory.grow $m4 (i32.const 1000)))
    (drop (memory.grow $m5 (i32.const 1000))))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $grow_every_memory)
    (i32.const 0))
)
