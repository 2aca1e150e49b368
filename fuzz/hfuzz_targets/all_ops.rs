//! honggfuzz: `all_ops` over raw bytes. See fuzz/README.md.
//! honggfuzz's `fuzz!` takes a block body (`|data: &[u8]| { .. }`), not an expression.
#[path = "../counters.rs"]
mod counters;
mod panic_line;

fn main() {
    counters::register();
    loop {
        honggfuzz::fuzz!(|data: &[u8]| {
            panic_line::install();
            sintfuzz_targets::all_ops(data);
        });
        counters::after_input();
    }
}
