//! `sintfuzz-targets`: the input codec, the oracle and the engine-agnostic fuzz targets
//! over `sintfuzz-model`. Engine wrappers call [`fuzz`] with a [`Target`] and raw bytes.
//!
//! The modules in layers, each calling only those below it (`tests/layers.rs` checks
//! it; `docs/architecture.md` follows one input through them):
//!
//! 1. `codec` (bytes ↔ operations, the [`codec::Kind`]s), `invariant`, `env`, `rng`;
//! 2. `target` (each target's kind table), `oracle`, `scenarios`, `mutate`;
//! 3. `harness`: model stepping, hooks as a [`StepHook`] parameter;
//! 4. what watches or judges a run: `feedback`, `trace`, `signature`, `known`, `files`;
//! 5. `engine`: [`fuzz`], [`fuzz_with`] and the suppression of known findings.

pub mod codec;
pub mod engine;
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
pub mod trace;

pub use codec::{decode, encode, Scenario, MAX_OPS};
pub use engine::{all_ops, fuzz, fuzz_with, proxy_filter, relay_lifecycle, synic_msr};
pub use harness::{run, run_hooked, run_ops, Machine, NoHook, Outcome, Settings, Source, StepHook};
pub use invariant::{Invariant, InvariantSet};
pub use oracle::Violation;
pub use signature::{signature, Signature};
pub use target::Target;
