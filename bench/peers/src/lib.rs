//! `sintfuzz-peers`: the two harnesses issue 12 measures ours against, over the same
//! model and oracle ([`sintfuzz_targets::run_ops`]), each a libFuzzer target in
//! `fuzz/bench_targets/` (`naive`, `shaped`; benchmarks, never shipped):
//!
//! - [`naive`]: what a user writes first, as openvmm's own fuzz crates do: a
//!   `#[derive(Arbitrary)]` action enum with the raw field types of the interfaces.
//! - [`shaped`]: what a careful user writes after reading the TLFS: the synic MSRs and
//!   registers as an enum, SINT bits as a struct of bools plus a `u8` vector, VP indexes
//!   modulo the VP count, booleans for the channel slots.
//!
//! They are written as such a user would write them, without our codec's knowledge.

pub mod naive;
pub mod shaped;

use sintfuzz_model::{Config, Op};
use sintfuzz_targets::{run_ops, Outcome, Settings};

/// The peer's fuzz body: run, and panic with the violation line as our targets do.
pub fn check(config: Config, ops: impl IntoIterator<Item = Op>) {
    if let Outcome::Violation(v) = run_ops(config, ops, Settings::global()) {
        panic!("{v}");
    }
}
