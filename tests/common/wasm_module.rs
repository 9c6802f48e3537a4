//! Small WebAssembly modules made by the tests.

/// A minimal proxy-wasm module: one function exported as the ABI marker,
/// padded with a custom section so that chunked uploads take several requests.
pub fn module(padding: usize) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    fn section(id: u8, body: &[u8], out: &mut Vec<u8>) {
        out.push(id);
        leb(body.len(), out);
        out.extend_from_slice(body);
    }
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    section(1, &[1, 0x60, 0, 0], &mut wasm);
    section(3, &[1, 0], &mut wasm);
    let name = b"proxy_abi_version_0_2_1";
    let mut export = vec![1, name.len() as u8];
    export.extend_from_slice(name);
    export.extend_from_slice(&[0, 0]);
    section(7, &export, &mut wasm);
    section(10, &[1, 2, 0, 0x0b], &mut wasm);
    let mut custom = vec![7];
    custom.extend_from_slice(b"padding");
    custom.extend((0..padding).map(|i| (i % 251) as u8));
    section(0, &custom, &mut wasm);
    wasm
}
