//! Templates are embedded with include_dir!, which cargo does not track:
//! rebuild when a template file changes.
fn main() {
    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-changed=ebpf-templates");
    println!("cargo:rerun-if-changed=src/toolchain/recipe");
}
