//! `sintfuzz-targets`: the input codec, the oracle and the engine-agnostic fuzz targets
//! over `sintfuzz-model`. Engine wrappers call [`fuzz`] with a [`Target`] and raw bytes.

pub mod codec;
pub mod env;
pub mod feedback;
pub mod files;
pub mod harness;
pub mod invariant;
pub mod known;
pub mod mutate;
pub mod oracle;
pub mod rng;
pub mod scenarios;
pub mod signature;
pub mod target;

pub use codec::{decode, encode, Scenario, MAX_OPS};
pub use harness::{
    fuzz, fuzz_with, run, run_hooked, run_ops, Machine, NoHook, Outcome, Settings, Source, StepHook,
};
pub use invariant::{Invariant, InvariantSet};
pub use oracle::Violation;
pub use signature::{signature, Signature};
pub use target::Target;

/// Engine entry point for `synic_msr`.
pub fn synic_msr(data: &[u8]) {
    fuzz(Target::SynicMsr, data)
}

/// Engine entry point for `proxy_filter`.
pub fn proxy_filter(data: &[u8]) {
    fuzz(Target::ProxyFilter, data)
}

/// Engine entry point for `relay_lifecycle`.
pub fn relay_lifecycle(data: &[u8]) {
    fuzz(Target::RelayLifecycle, data)
}

/// Engine entry point for `all_ops`.
pub fn all_ops(data: &[u8]) {
    fuzz(Target::AllOps, data)
}
