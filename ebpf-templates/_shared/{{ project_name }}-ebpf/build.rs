use which::which;

/// Building this crate depends on the `bpf-linker` binary: rebuild when it changes.
fn main() {
    let bpf_linker = which("bpf-linker").unwrap();
    println!("cargo:rerun-if-changed={}", bpf_linker.to_str().unwrap());
}
