//! Argument pieces several commands share (`repro`, `explain`, `minimize`, `promote`,
//! `cmin`, `cover`): the target and the settings, with flags winning over the
//! environment. Shared by every folder, like `paths`.

use clap::Args;
use sintfuzz_model::Revision;
use sintfuzz_targets::{InvariantSet, Settings, Target};

use crate::Fail;

/// A target and the settings to run it under.
#[derive(Args, Clone, Debug)]
pub struct Run {
    /// Fuzz target: synic_msr, proxy_filter, relay_lifecycle or all_ops.
    #[arg(long, value_parser = parse_target)]
    pub target: Target,
    /// Filter revision (default: $SINTFUZZ_REVISION or head).
    #[arg(long, value_parser = parse_revision)]
    pub revision: Option<Revision>,
    /// Invariants: default, strict, or comma-separated ids (default: $SINTFUZZ_INVARIANTS
    /// or default).
    #[arg(long, value_parser = parse_invariants)]
    pub invariants: Option<InvariantSet>,
}

impl Run {
    pub fn settings(&self) -> Result<Settings, Fail> {
        settings(self.revision, self.invariants)
    }
}

pub fn parse_target(s: &str) -> Result<Target, String> {
    s.parse()
}

pub fn parse_revision(s: &str) -> Result<Revision, String> {
    s.parse()
        .map_err(|e: sintfuzz_model::UnknownRevision| e.to_string())
}

pub fn parse_invariants(s: &str) -> Result<InvariantSet, String> {
    InvariantSet::parse(s)
}

/// Explicit flags win over the environment; a bad environment value is an error.
pub fn settings(
    revision: Option<Revision>,
    invariants: Option<InvariantSet>,
) -> Result<Settings, Fail> {
    let env = Settings::from_env().map_err(Fail::Usage)?;
    Ok(Settings {
        revision: revision.unwrap_or(env.revision),
        invariants: invariants.unwrap_or(env.invariants),
    })
}
