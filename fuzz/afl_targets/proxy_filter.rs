//! AFL++: `proxy_filter` over raw bytes (stdin outside AFL). See fuzz/README.md.
//! The near-miss feedback's counters reach AFL++'s map after each input (counters.rs).
#[path = "../counters.rs"]
mod counters;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        sintfuzz_targets::proxy_filter(data);
        counters::after_input();
    });
}
