//! The harnesses a benchmark can put under an engine: ours (the shipped target of the
//! defect's kind), ours without the near-miss feedback (the same binary with
//! `SINTFUZZ_FEEDBACK=off`, under every engine), and the benchmark-only libFuzzer
//! binaries of `fuzz/bench_targets/`:
//! `relay_lifecycle_ops` (ours with the op-level mutator) and the two peer harnesses a
//! user would write (`naive`, `shaped`, crate `sintfuzz-peers`). This file is the one
//! place that names them and says where their binaries are and what their crash files
//! mean.

use std::path::PathBuf;

use clap::ValueEnum;
use sintfuzz_peers::Peer;
use sintfuzz_targets::{Settings, Target};

use crate::engine::{Binaries, Engine};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum Harness {
    /// The shipped target the defect lives in (`relay_lifecycle`, `proxy_filter`, ...).
    Ours,
    /// Ours with `SINTFUZZ_FEEDBACK=off`: the same binary without the near-miss feedback
    /// (`targets/src/feedback.rs`), under any engine.
    #[value(name = "nofb")]
    NoFeedback,
    /// `relay_lifecycle` with the op-level mutator (libFuzzer; relay_lifecycle defects).
    Ops,
    /// The naive peer: a derived action enum with raw field types (libFuzzer).
    Naive,
    /// The shaped peer: the TLFS-shaped action enum (libFuzzer).
    Shaped,
}

impl Harness {
    pub fn name(self) -> &'static str {
        match self {
            Harness::Ours => "ours",
            Harness::NoFeedback => "nofb",
            Harness::Ops => "ops",
            Harness::Naive => Peer::Naive.name(),
            Harness::Shaped => Peer::Shaped.name(),
        }
    }

    /// The peer harness it is, if it is one.
    pub fn peer(self) -> Option<Peer> {
        match self {
            Harness::Naive => Some(Peer::Naive),
            Harness::Shaped => Some(Peer::Shaped),
            _ => None,
        }
    }

    /// The target its crash files are inputs of: a peer's are turned into `all_ops`
    /// inputs ([`Harness::translate`]), since a peer runs every operation kind.
    pub fn crash_target(self, target: Target) -> Target {
        if self.peer().is_some() {
            Target::AllOps
        } else {
            target
        }
    }

    /// Whether it has a build for `engine`: ours under every engine, the benchmark-only
    /// binaries (`ops` and the peers) under libFuzzer only.
    pub fn runs_under(self, engine: Engine) -> bool {
        matches!(self, Harness::Ours | Harness::NoFeedback) || engine == Engine::Libfuzzer
    }

    /// Its binary for `target` under `engine`, or why there is none.
    pub fn binary(self, bins: &Binaries, target: Target) -> Result<PathBuf, String> {
        let bench_only = |name: &str| {
            if self.runs_under(bins.engine) {
                Ok(bins.dir.join(name))
            } else {
                Err(format!(
                    "harness '{}' is a libFuzzer benchmark binary; it has no {} build",
                    self.name(),
                    bins.engine.name()
                ))
            }
        };
        match self {
            Harness::Ours | Harness::NoFeedback => Ok(bins.target(target)),
            Harness::Ops if target == Target::RelayLifecycle => bench_only("relay_lifecycle_ops"),
            Harness::Ops => Err(format!(
                "harness 'ops' exists for relay_lifecycle only, not {}",
                target.name()
            )),
            Harness::Naive | Harness::Shaped => bench_only(self.name()),
        }
    }

    /// Extra environment for its engine processes.
    pub fn env(self) -> Option<(&'static str, &'static str)> {
        match self {
            Harness::NoFeedback => Some((sintfuzz_targets::feedback::ENV_FEEDBACK, "off")),
            _ => None,
        }
    }

    /// Whether its crash files need [`Harness::translate`] before triage.
    pub fn translates(self) -> bool {
        self.peer().is_some()
    }

    /// A crash file of this harness as an input of [`Harness::crash_target`]: a peer's
    /// bytes become the canonical `all_ops` input of the same scenario, cut after the
    /// violating operation; ours are already inputs. Where it fails the runner keeps the
    /// peer's file as it is, bucketed by the peer's own replay (`bucket::Crash::peer`).
    pub fn translate(self, data: &[u8], settings: &Settings) -> Result<Vec<u8>, String> {
        match self.peer() {
            Some(p) => p.canonical(data, settings),
            None => Ok(data.to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn binaries() {
        let lf = Engine::Libfuzzer.prebuilt(Path::new("/b"));
        let afl = Engine::Afl.prebuilt(Path::new("/a"));
        assert_eq!(
            Harness::Ours.binary(&lf, Target::ProxyFilter),
            Ok(PathBuf::from("/b/proxy_filter"))
        );
        assert_eq!(
            Harness::Shaped.binary(&lf, Target::ProxyFilter),
            Ok(PathBuf::from("/b/shaped"))
        );
        assert_eq!(
            Harness::Ops.binary(&lf, Target::RelayLifecycle),
            Ok(PathBuf::from("/b/relay_lifecycle_ops"))
        );
        assert!(Harness::Ops.binary(&lf, Target::SynicMsr).is_err());
        assert!(Harness::Naive.binary(&afl, Target::RelayLifecycle).is_err());
        assert_eq!(
            Harness::Ours.binary(&afl, Target::SynicMsr),
            Ok(PathBuf::from("/a/synic_msr_afl"))
        );
        // Without feedback: our binary under every engine, with the switch set.
        assert_eq!(
            Harness::NoFeedback.binary(&afl, Target::SynicMsr),
            Ok(PathBuf::from("/a/synic_msr_afl"))
        );
        assert_eq!(
            Harness::NoFeedback.env(),
            Some(("SINTFUZZ_FEEDBACK", "off"))
        );
        assert_eq!(Harness::Ours.env(), None);
        assert_eq!(
            <Harness as ValueEnum>::from_str("nofb", true),
            Ok(Harness::NoFeedback)
        );
    }
}
