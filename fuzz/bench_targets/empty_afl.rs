//! AFL++: an empty target, the exec/s ceiling that `sintfuzz bench --engines` divides by.
fn main() {
    afl::fuzz!(|_d: &[u8]| {});
}
