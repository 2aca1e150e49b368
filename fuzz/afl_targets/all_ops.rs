//! AFL++: `all_ops` over raw bytes (stdin outside AFL). See fuzz/README.md.
fn main() {
    afl::fuzz!(|data: &[u8]| sintfuzz_targets::all_ops(data));
}
