//! honggfuzz: `synic_msr` over raw bytes. See fuzz/README.md.
fn main() {
    loop {
        honggfuzz::fuzz!(|data: &[u8]| sintfuzz_targets::synic_msr(data));
    }
}
