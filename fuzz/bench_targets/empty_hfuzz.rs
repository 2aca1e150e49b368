//! honggfuzz: an empty target, the exec/s ceiling that `sintfuzz bench --engines` divides by.
fn main() {
    loop {
        honggfuzz::fuzz!(|_d: &[u8]| {});
    }
}
