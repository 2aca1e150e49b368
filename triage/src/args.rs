//! Argument pieces several commands share (`repro`, `explain`, `minimize`, `promote`,
//! `cmin`, `cover`): the target and the settings, with flags winning over the
//! environment; target lists and durations (`campaign`, `tte`, `check`, `bench`). Shared
//! by every folder, like `paths`.

use std::time::Duration;

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

/// `all` or a comma-separated list of target names.
pub fn parse_targets(s: &str) -> Result<Vec<Target>, String> {
    if s.trim() == "all" {
        return Ok(Target::ALL.to_vec());
    }
    s.split(',').map(|t| t.trim().parse::<Target>()).collect()
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, ""), |i| s.split_at(i));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration '{s}' (e.g. 90s, 5m, 1h)"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("invalid duration unit in '{s}' (use s, m or h)")),
    };
    if secs == 0 {
        return Err("the campaign needs a non-zero --time".into());
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }
}
