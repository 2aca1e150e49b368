//! The known findings, one entry per root cause (`triage/known.toml`, embedded here at
//! build time), matched by [`Signature`]; and the verdict on a violation ([`judge`]): a
//! known `open` finding or `weakness` is suppressed, so it never stops a hunt; a new root
//! cause, or a known one upstream has `fixed` (a regression), stops the run.
//! `SINTFUZZ_KNOWN=report` turns the suppression off. The engines act on the verdict in
//! `crate::engine` (count and go on, or panic).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::harness::{Settings, Source};
use crate::invariant::Invariant;
use crate::oracle::Violation;
use crate::signature::{signature_source, Fix, Signature};
use crate::target::Target;

pub const ENV_KNOWN: &str = "SINTFUZZ_KNOWN";

/// The list the engines were built with.
pub const EMBEDDED: &str = include_str!("../../triage/known.toml");

/// One root cause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Known {
    /// Upstream issue (`openvmm#N`) or sintfuzz finding (`SF-NNN`).
    pub id: String,
    pub title: String,
    /// `fixed` (upstream fixed it: finding it again is a regression), `open` (reported,
    /// still at head) or `weakness` (a strict-set design weakness).
    pub status: String,
    /// Its [`Signature`] on each revision it reproduces on (the fixing choices are
    /// relative to the revision, so they may differ).
    pub signatures: Vec<String>,
    pub revisions: Vec<String>,
    /// The regression files that witness it.
    pub regressions: Vec<String>,
    /// The invariants a witness of it violates (ids). A violation of another invariant is
    /// not this finding, whatever its signature (empty: no restriction).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invariants: Vec<String>,
    /// One paragraph for a bug report: what goes wrong and what it costs the guest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// The upstream code path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The configuration it needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
}

impl Known {
    /// Known open findings and weaknesses are skipped by the engines; fixed ones are not.
    pub fn suppressed(&self) -> bool {
        matches!(self.status.as_str(), "open" | "weakness")
    }

    /// Whether a violation of `invariant` can be this finding.
    pub fn covers(&self, invariant: Invariant) -> bool {
        self.invariants.is_empty() || self.invariants.iter().any(|i| i == invariant.id())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownList {
    #[serde(default)]
    pub finding: Vec<Known>,
}

impl KnownList {
    pub fn parse(text: &str) -> Result<Self, String> {
        let list: KnownList = toml::from_str(text).map_err(|e| e.message().to_string())?;
        for k in &list.finding {
            if !matches!(k.status.as_str(), "open" | "weakness" | "fixed") {
                return Err(format!(
                    "{}: status '{}' (expected open, weakness or fixed)",
                    k.id, k.status
                ));
            }
        }
        Ok(list)
    }

    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The entry (and its index) one of whose signatures matches `sig`, and that covers
    /// the violated `invariant`.
    pub fn find(&self, sig: &Signature, invariant: Invariant) -> Option<(usize, &Known)> {
        self.matching_indexed(sig, invariant).next()
    }

    /// Every entry that matches `sig` and covers `invariant`, in list order
    /// ([`KnownList::find`] is the first).
    pub fn matching(&self, sig: &Signature, invariant: Invariant) -> Vec<&Known> {
        self.matching_indexed(sig, invariant)
            .map(|(_, k)| k)
            .collect()
    }

    /// The root causes a violation is labelled with: one entry, or (when the signature's
    /// fix has alternatives that separate entries, i.e. separating the coincident values
    /// did not keep the violation) each entry one alternative alone names: stacked. Empty:
    /// new. The one computation behind a bucket, `explain`'s and `report`'s root-cause line.
    pub fn label(&self, sig: &Signature, invariant: Invariant) -> Label<'_> {
        let mut each: Vec<&Known> = Vec::new();
        for (_, k) in self.by_alternative(sig, invariant) {
            if !each.iter().any(|e| e.id == k.id) {
                each.push(k);
            }
        }
        if each.len() > 1 {
            return Label::Stacked(each);
        }
        match self.find(sig, invariant) {
            Some((_, k)) => Label::Known(k),
            None => Label::New,
        }
    }

    /// For a stacked violation (alternative fixes), the first entry one alternative alone
    /// names that is suppressed (open or weakness): that finding's fix alone removes the
    /// violation, so it is that open finding's and no evidence that a fixed one is back.
    pub fn suppressed_alternative(
        &self,
        sig: &Signature,
        invariant: Invariant,
    ) -> Option<(usize, &Known)> {
        self.by_alternative(sig, invariant)
            .find(|(_, k)| k.suppressed())
    }

    /// Where the fix has alternatives, the entry each one alone names, in fix order
    /// (nothing for a single fix or none).
    fn by_alternative<'s>(
        &'s self,
        sig: &Signature,
        invariant: Invariant,
    ) -> impl Iterator<Item = (usize, &'s Known)> + 's {
        let alts = match &sig.fix {
            Fix::Choices(alts) if alts.len() > 1 => alts.clone(),
            _ => Vec::new(),
        };
        let sig = sig.clone();
        alts.into_iter().filter_map(move |alt| {
            let one = Signature {
                fix: Fix::Choices(vec![alt]),
                ..sig.clone()
            };
            self.find(&one, invariant)
        })
    }

    fn matching_indexed(
        &self,
        sig: &Signature,
        invariant: Invariant,
    ) -> impl Iterator<Item = (usize, &Known)> {
        let s = sig.to_string();
        self.finding.iter().enumerate().filter(move |(_, k)| {
            k.covers(invariant) && k.signatures.iter().any(|p| pattern_matches(p, &s))
        })
    }

    pub fn by_id(&self, id: &str) -> Option<&Known> {
        self.finding.iter().find(|k| k.id == id)
    }

    /// The list built into this binary. A list that does not parse is caught by the tests;
    /// should one slip through, the engine stops with one line, exit code 2.
    pub fn embedded() -> &'static KnownList {
        static LIST: OnceLock<KnownList> = OnceLock::new();
        LIST.get_or_init(|| match KnownList::parse(EMBEDDED) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("sintfuzz: embedded triage/known.toml: {e}");
                std::process::exit(2);
            }
        })
    }
}

/// What a violation is, against the known list ([`KnownList::label`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Label<'a> {
    New,
    Known(&'a Known),
    /// Several root causes at once, each removed by its own fix alone, which no separation
    /// of coincident values kept apart: reported under each.
    Stacked(Vec<&'a Known>),
}

impl<'a> Label<'a> {
    /// The entries it is reported under.
    pub fn entries(&self) -> Vec<&'a Known> {
        match self {
            Label::New => Vec::new(),
            Label::Known(k) => vec![*k],
            Label::Stacked(ks) => ks.clone(),
        }
    }

    /// One line: `new`, `known <id> [<status>]: <title>`, or `stacked: known <id> [..], ...`.
    pub fn line(&self) -> String {
        match self {
            Label::New => "new: no known finding matches".to_string(),
            Label::Known(k) => format!("known {} [{}]: {}", k.id, k.status, k.title),
            Label::Stacked(ks) => format!(
                "stacked: {}",
                ks.iter()
                    .map(|k| format!("known {} [{}]", k.id, k.status))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A `known.toml` signature matches a computed one field by field (class, fix,
/// direction, op); a field `*` matches any value. The fix field matches when some
/// alternative of the computed fix is part of some alternative of the pattern, or
/// contains one (two known defects stacked): on a raw
/// crash more single choices may happen to remove the violation (noise of the vehicle),
/// and where a vehicle recomputes the filter by another path one choice of a known pair
/// may already do (`lost admission` is #1162's `admission+wrmsr-trigger` when the old
/// SINT value had the proxy bit).
pub fn pattern_matches(pattern: &str, signature: &str) -> bool {
    let p: Vec<&str> = pattern.split_whitespace().collect();
    let s: Vec<&str> = signature.split_whitespace().collect();
    if p.len() != 4 || s.len() != 4 {
        return false;
    }
    let field = |i: usize| p[i] == "*" || p[i] == s[i];
    field(0) && (p[1] == "*" || fix_part_of(s[1], p[1])) && field(2) && field(3)
}

/// Whether some alternative of `computed` (`a+b|c`) is a non-empty subset or superset of
/// some alternative of `known`.
fn fix_part_of(computed: &str, known: &str) -> bool {
    let alts = |f: &str| -> Vec<Vec<String>> {
        f.split('|')
            .map(|a| a.split('+').map(str::to_string).collect())
            .collect()
    };
    let known = alts(known);
    // Without a filter at all, the filter alone removes every leak: `filter` alone is
    // part of a known fix only where that fix is the filter alone.
    let only_filter = |a: &Vec<String>| a.len() == 1 && a[0] == "filter";
    // B part of A (raw-crash noise, an incidental recompute), or A part of B: a violation
    // that needs a known defect together with another (two known root causes stacked,
    // e.g. SF-005 and SF-006 both admitting one vector) is that known defect.
    let part_of = |b: &Vec<String>, a: &Vec<String>| {
        let subset = |x: &Vec<String>, y: &Vec<String>| x.iter().all(|c| y.contains(c));
        (subset(b, a) && (!only_filter(b) || only_filter(a))) || (subset(a, b) && !only_filter(a))
    };
    alts(computed).iter().any(|b| {
        !b.is_empty()
            && !b.iter().any(|c| c == "proposed" || c == "unfixed")
            && known.iter().any(|a| part_of(b, a))
    }) || alts(computed) == known
}

/// What the engines do with known findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnownMode {
    /// Default: skip known open findings and weaknesses, count them.
    Suppress,
    /// `SINTFUZZ_KNOWN=report`: every violation stops the run.
    Report,
    /// `SINTFUZZ_KNOWN=only:<id>[,<id>...]`: as `Suppress`, but these known findings stop
    /// the run too (`sintfuzz tte` hunting one open finding: another open one under the
    /// same invariants, say SF-005 beside SF-006, is skipped as a campaign skips it,
    /// instead of stopping and restarting the engine again and again).
    Only(&'static str),
}

impl KnownMode {
    /// `SINTFUZZ_KNOWN`: unset or `suppress`, `report`, or `only:` with ids of the
    /// embedded list. Anything else is an error.
    pub fn from_env() -> Result<Self, String> {
        if let Ok(v) = std::env::var(ENV_KNOWN) {
            if let Some(ids) = v.trim().strip_prefix("only:") {
                return Self::only(KnownList::embedded(), ids);
            }
        }
        crate::env::word(
            ENV_KNOWN,
            std::env::var(ENV_KNOWN),
            KnownMode::Suppress,
            &[
                ("suppress", KnownMode::Suppress),
                ("report", KnownMode::Report),
            ],
        )
    }

    /// `only:<ids>` (the comma-separated `ids`), each id a finding of `list`. Kept for the
    /// process's life (read once per process).
    pub fn only(list: &KnownList, ids: &str) -> Result<KnownMode, String> {
        let ids: Vec<&str> = ids.split(',').map(str::trim).collect();
        match ids.iter().find(|id| list.by_id(id).is_none()) {
            Some(id) => Err(format!("{ENV_KNOWN}: only: '{id}' is no known finding")),
            None => Ok(KnownMode::Only(Box::leak(ids.join(",").into_boxed_str()))),
        }
    }

    /// Whether the engines skip a violation of known finding `k`.
    fn skips(self, k: &Known) -> bool {
        match self {
            KnownMode::Suppress => k.suppressed(),
            KnownMode::Report => false,
            KnownMode::Only(ids) => k.suppressed() && !ids.split(',').any(|id| id == k.id),
        }
    }

    /// Read once per process; a bad value ends it with one line and exit code 2.
    pub fn global() -> KnownMode {
        static MODE: OnceLock<KnownMode> = OnceLock::new();
        *MODE.get_or_init(|| crate::env::or_exit(KnownMode::from_env()))
    }
}

/// What the engine wrapper does with a violation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A known open finding or weakness: counted, the run goes on.
    Suppressed(usize),
    /// Stop: the message to panic with (first line: the violation).
    Stop(String),
}

/// Decide, against `list`, what a violation means. Computes the signature (only here,
/// after the oracle reported).
pub fn judge(
    list: &KnownList,
    mode: KnownMode,
    target: Target,
    data: &[u8],
    settings: &Settings,
    v: &Violation,
) -> Verdict {
    judge_source(list, mode, Source::Bytes(target, data), settings, v)
}

/// [`judge`] of any [`Source`] (a peer harness's scenario as operations).
pub fn judge_source(
    list: &KnownList,
    mode: KnownMode,
    source: Source<'_>,
    settings: &Settings,
    v: &Violation,
) -> Verdict {
    let Some(sig) = signature_source(source, settings.revision, settings.invariants) else {
        // Cannot happen (same bytes, same outcome); stop rather than hide it.
        return Verdict::Stop(v.to_string());
    };
    // A stacked violation an open finding's fix alone removes is that finding's.
    let found = list.find(&sig, v.invariant);
    let hit = match found {
        Some((_, k)) if !k.suppressed() => list.suppressed_alternative(&sig, v.invariant).or(found),
        _ => found,
    };
    match hit {
        Some((i, k)) if mode.skips(k) => Verdict::Suppressed(i),
        Some((_, k)) => Verdict::Stop(format!(
            "{v}\nsintfuzz signature: {sig} (known {} [{}])",
            k.id, k.status
        )),
        None => Verdict::Stop(format!("{v}\nsintfuzz signature: {sig} (new)")),
    }
}
