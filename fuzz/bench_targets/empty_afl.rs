//! AFL++: an empty target, the exec/s ceiling that bench/execs.sh divides by.
fn main() {
    afl::fuzz!(|_d: &[u8]| {});
}
