//! honggfuzz: `all_ops` over raw bytes. See fuzz/README.md.
//! honggfuzz's `fuzz!` takes a block body (`|data: &[u8]| { .. }`), not an expression.
mod panic_line;

fn main() {
    loop {
        honggfuzz::fuzz!(|data: &[u8]| {
            panic_line::install();
            sintfuzz_targets::all_ops(data);
        });
    }
}
