//! honggfuzz: `relay_lifecycle` over raw bytes. See fuzz/README.md.
fn main() {
    loop {
        honggfuzz::fuzz!(|data: &[u8]| sintfuzz_targets::relay_lifecycle(data));
    }
}
