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
//! They are written as such a user would write them, without our codec's knowledge. The
//! two things they share with ours are outside the harness proper: known open findings
//! are skipped the same way (so a time-to-exposure trial masks the same shallow defects
//! for every harness), and `sintfuzz tte` turns a peer's crash file into our canonical
//! `all_ops` input ([`Peer::canonical`]) to bucket it by root cause; where our format
//! cannot express the scenario, it buckets the peer's file by the same root-cause
//! signature computed on the peer's own operations ([`Peer::scenario`],
//! `sintfuzz_targets::signature::analyze_source`).

pub mod naive;
pub mod shaped;

use arbitrary::{Arbitrary, Unstructured};
use sintfuzz_model::{Config, Op};
use sintfuzz_targets::codec::{encode, EncodeError, Scenario};
use sintfuzz_targets::{run_ops, Outcome, Settings, Source, Target};

/// The peer harnesses, by the name of their libFuzzer binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    Naive,
    Shaped,
}

impl Peer {
    pub const ALL: [Peer; 2] = [Peer::Naive, Peer::Shaped];

    /// The name of its libFuzzer binary in `fuzz/bench_targets/`.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Naive => "naive",
            Peer::Shaped => "shaped",
        }
    }

    /// The scenario a peer's libFuzzer target makes of `data`, read as `libfuzzer-sys`
    /// reads a typed input (`arbitrary_take_rest`); `None` where the target returns early.
    pub fn scenario(self, data: &[u8]) -> Option<(Config, Vec<Op>)> {
        let u = Unstructured::new(data);
        match self {
            Peer::Naive => naive::Input::arbitrary_take_rest(u)
                .ok()
                .map(|i| (i.config(), i.ops().collect())),
            Peer::Shaped => shaped::Input::arbitrary_take_rest(u)
                .ok()
                .map(|i| (i.config(), i.ops().collect())),
        }
    }

    /// A peer crash file as our canonical `all_ops` input: its scenario, cut after the
    /// operation at which `settings` see the violation (what follows is never run).
    pub fn canonical(self, data: &[u8], settings: &Settings) -> Result<Vec<u8>, String> {
        let (config, ops) = self
            .scenario(data)
            .ok_or_else(|| format!("not a {} input", self.name()))?;
        canonical(config, ops, settings)
    }
}

/// `ops` under `config` as a canonical `all_ops` input, cut after the violating step.
pub fn canonical(config: Config, ops: Vec<Op>, settings: &Settings) -> Result<Vec<u8>, String> {
    let step = run_ops(config, ops.iter().copied(), settings)
        .violation()
        .map(|v| v.step);
    encode_until(config, ops, step).map_err(|e| e.to_string())
}

/// The canonical `all_ops` encoding of `ops`, cut after operation `step` if given.
fn encode_until(
    config: Config,
    ops: impl IntoIterator<Item = Op>,
    step: Option<u16>,
) -> Result<Vec<u8>, EncodeError> {
    let keep = step.map_or(usize::MAX, |s| s as usize + 1);
    let ops = ops.into_iter().take(keep).collect();
    encode(Target::AllOps, &Scenario { config, ops })
}

/// The peer's fuzz body: run, and on a violation do what our targets do (skip a known
/// open finding; else panic with the violation line), judged on the root-cause signature
/// of the scenario's own operations up to the violating one: the signature its canonical
/// `all_ops` form has where our codec can express it (tests/signature.rs), and the same
/// judgement where it cannot (more than 64 operations, VP 255), so a peer skips the same
/// known findings ours does. `ops` gives the scenario's operations (again, on a
/// violation).
pub fn check<I: IntoIterator<Item = Op>>(config: Config, ops: impl Fn() -> I) {
    let settings = Settings::global();
    if let Outcome::Violation(v) = run_ops(config, ops(), settings) {
        let ops: Vec<Op> = ops().into_iter().take(v.step as usize + 1).collect();
        sintfuzz_targets::engine::on_violation_source(Source::Ops(config, &ops), settings, &v)
    }
}
