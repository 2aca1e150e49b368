//! honggfuzz: an empty target, the exec/s ceiling that bench/execs.sh divides by.
fn main() {
    loop {
        honggfuzz::fuzz!(|_d: &[u8]| {});
    }
}
