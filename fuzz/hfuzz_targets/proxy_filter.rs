//! honggfuzz: `proxy_filter` over raw bytes. See fuzz/README.md.
fn main() {
    loop {
        honggfuzz::fuzz!(|data: &[u8]| sintfuzz_targets::proxy_filter(data));
    }
}
