//! Envoy's v3 API as gw uses it: the typed values gw writes configs with (`v3`),
//! and Envoy's own schema (every v3 proto, as a descriptor set) with its
//! protoc-gen-validate rules, which every config gw writes or is given is checked
//! against (`validate`). Used by the topology, the cluster objects and `gw validate`.

mod pgv;
pub mod v3;
pub mod validate;
