//! AFL++: `relay_lifecycle` over raw bytes (stdin outside AFL). See fuzz/README.md.
fn main() {
    afl::fuzz!(|data: &[u8]| sintfuzz_targets::relay_lifecycle(data));
}
