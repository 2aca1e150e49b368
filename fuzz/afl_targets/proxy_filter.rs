//! AFL++: `proxy_filter` over raw bytes (stdin outside AFL). See fuzz/README.md.
fn main() {
    afl::fuzz!(|data: &[u8]| sintfuzz_targets::proxy_filter(data));
}
