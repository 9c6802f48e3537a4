;; A valid module that is not a proxy-wasm filter (no proxy_abi_version_* export).
(module
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
)
