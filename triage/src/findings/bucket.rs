//! Bucketing: crash files grouped by root-cause signature (`sintfuzz_targets::signature`:
//! invariant class, fixing policy choices, direction, divergence op), each bucket marked
//! known or new against `triage/known.toml`. The minimized action skeleton is kept as a
//! secondary label. A peer harness's crash file that our format cannot express is
//! bucketed by the same signature computed on the peer's own scenario ([`Crash::peer`]).

use sintfuzz_model::op::{
    CloseChannel, GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostSignalChannel,
    HostSignalSint, ModifyChannel, ModifyConnection, OpenChannel, RdMsr, Retarget, RunVp, SetApic,
    SetVpRegister, UntrustedWrMsr, WrMsr,
};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sintfuzz_model::hvdef::{msr, reg};
use sintfuzz_model::{Op, Revision};
use sintfuzz_peers::Peer;
use sintfuzz_targets::files::read_input;
use sintfuzz_targets::signature::analyze_source;
use sintfuzz_targets::{Scenario, Settings, Source, Target};

use crate::findings::minimize::{minimize, Minimized};

/// A short label for one operation: its kind, the VTLs involved and the register class.
pub fn op_label(op: &Op) -> String {
    let reg_class = |m: u32| match m {
        msr::SINT0..=msr::SINT15 => "sint",
        msr::SCONTROL => "scontrol",
        msr::SVERSION => "sversion",
        msr::SIEFP | msr::SIMP => "page",
        msr::EOM => "eom",
        _ => "other",
    };
    match *op {
        Op::WrMsr(WrMsr { vtl, msr, .. }) => format!("WrMsr.{vtl}.{}", reg_class(msr)),
        Op::RdMsr(RdMsr { vtl, msr, .. }) => format!("RdMsr.{vtl}.{}", reg_class(msr)),
        Op::SetVpRegister(SetVpRegister {
            caller_vtl,
            target_vtl,
            name,
            ..
        }) => format!(
            "SetVpRegister.{caller_vtl}>{target_vtl}.{}",
            reg::to_msr(name).map_or("other", reg_class)
        ),
        Op::UntrustedWrMsr(UntrustedWrMsr { msr, .. }) => {
            format!("UntrustedWrMsr.{}", reg_class(msr))
        }
        Op::Retarget(Retarget { vtl, .. }) => format!("Retarget.{vtl}"),
        Op::SetApic(SetApic { vtl, .. }) => format!("SetApic.{vtl}"),
        Op::GuestAck(GuestAck { vtl, .. }) => format!("GuestAck.{vtl}"),
        Op::OpenChannel(OpenChannel { .. }) => "OpenChannel".into(),
        Op::CloseChannel(CloseChannel { .. }) => "CloseChannel".into(),
        Op::ModifyChannel(ModifyChannel { .. }) => "ModifyChannel".into(),
        Op::ModifyConnection(ModifyConnection { .. }) => "ModifyConnection".into(),
        Op::HostOffer(HostOffer { .. }) => "HostOffer".into(),
        Op::HostSignalChannel(HostSignalChannel { .. }) => "HostSignalChannel".into(),
        Op::HostSignalSint(HostSignalSint { .. }) => "HostSignalSint".into(),
        Op::HostDeviceInterrupt(HostDeviceInterrupt { .. }) => "HostDeviceInterrupt".into(),
        Op::HostAssert(HostAssert { .. }) => "HostAssert".into(),
        Op::RunVp(RunVp { .. }) => "RunVp".into(),
        Op::HostPostMessage(_) => "HostPostMessage".into(),
    }
}

/// The action skeleton of a minimized scenario: its distinct labels, sorted, so that
/// equivalent reproducers in another order or with a repeated step share a bucket.
pub fn skeleton(s: &Scenario) -> String {
    let labels: std::collections::BTreeSet<String> = s.ops.iter().map(op_label).collect();
    labels.into_iter().collect::<Vec<_>>().join(" ")
}

pub use sintfuzz_targets::known::{Known, KnownList, Label as KnownLabel};

/// The secondary label of a bucket: the representative's invariant, revision, target and
/// minimized action skeleton. The bucket itself is keyed by the root-cause signature.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Label {
    pub invariant: String,
    pub revision: String,
    pub target: String,
    pub skeleton: String,
}

/// One crash file to bucket, with the target and settings it was found under.
#[derive(Clone, Debug)]
pub struct Crash {
    pub path: PathBuf,
    pub target: Target,
    pub settings: Settings,
    /// `Some`: the file is a crash file of this peer harness in the peer's own format
    /// (one whose scenario `Peer::canonical` could not turn into an input of `target`:
    /// more than 64 operations, a field our codec has no encoding for). It is replayed
    /// as the peer's scenario and bucketed by the signature of that replay, unminimized.
    pub peer: Option<Peer>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Bucket {
    /// The root-cause signature (`sintfuzz_targets::signature`): the bucket's key.
    pub signature: String,
    /// The representative's invariant, revision, target and skeleton.
    pub label: Label,
    /// `new`, or the known finding's id.
    pub known: Option<String>,
    pub known_status: Option<String>,
    /// Of `files`, those whose root causes are stacked: no separation of coincident
    /// values kept the violation with one fix, so each is reported under every finding
    /// one of its fixes names (`KnownList::label`).
    pub stacked: Vec<PathBuf>,
    pub files: Vec<PathBuf>,
    /// The representative: the bucket's shortest minimized reproducer.
    pub representative: PathBuf,
    pub violation_line: String,
    pub ops_before: usize,
    pub ops_after: usize,
    #[serde(skip)]
    pub minimized: Vec<u8>,
    #[serde(skip)]
    pub settings: Option<Settings>,
    #[serde(skip)]
    pub target: Option<Target>,
    /// `Some`: the representative is a peer's crash file in its own format
    /// ([`Crash::peer`]); `minimized` is then its raw bytes, not an input of `target`,
    /// `ops_before` counts its scenario's operations and `ops_after` those up to the
    /// violating one (cut there, not minimized).
    #[serde(skip)]
    pub peer: Option<Peer>,
}

impl Bucket {
    pub fn is_new(&self) -> bool {
        self.known.is_none()
    }

    /// New buckets, and known findings that upstream has fixed (the fuzzed revision
    /// carries a defect a later one removed), make a campaign fail; known open findings
    /// and weaknesses do not.
    pub fn fails(&self) -> bool {
        self.is_new() || self.known_status.as_deref() == Some("fixed")
    }
}

/// The result of bucketing.
#[derive(Debug, Default)]
pub struct Buckets {
    pub buckets: Vec<Bucket>,
    /// Files that replayed clean (not a crash under their settings).
    pub clean: Vec<PathBuf>,
    /// Files that could not be read or minimized, with why.
    pub errors: Vec<(PathBuf, String)>,
}

pub fn bucket(crashes: &[Crash], known: &KnownList) -> Buckets {
    let mut out = Buckets::default();
    let mut map: BTreeMap<String, Bucket> = BTreeMap::new();
    for c in crashes {
        match read_input(&c.path).and_then(|data| minimized(c, &data)) {
            Ok(Some(m)) => file_minimized(&mut map, known, c, &m),
            Ok(None) => out.clean.push(c.path.clone()),
            Err(e) => out.errors.push((c.path.clone(), e)),
        }
    }
    out.buckets = map.into_values().collect();
    out
}

/// Crash `c` (its bytes `data`) minimized, or for a peer's file replayed in the peer's
/// own shape; `Ok(None)`: it replays clean.
fn minimized(c: &Crash, data: &[u8]) -> Result<Option<Minimized>, String> {
    match c.peer {
        Some(peer) => peer_replay(peer, data, &c.settings),
        None if sintfuzz_targets::run(c.target, data, &c.settings)
            .violation()
            .is_none() =>
        {
            Ok(None)
        }
        None => minimize(c.target, data, &c.settings).map(Some),
    }
}

/// File crash `c`, minimized to `m`, into its buckets: one per known root cause
/// (whatever vehicle its signature shows), a stacked crash in each of its; a new one is
/// keyed by its whole signature.
fn file_minimized(map: &mut BTreeMap<String, Bucket>, known: &KnownList, c: &Crash, m: &Minimized) {
    let label = Label {
        invariant: m.violation.invariant.id().to_string(),
        revision: c.settings.revision.name().to_string(),
        target: c.target.name().to_string(),
        skeleton: skeleton(&m.scenario),
    };
    let sig = m.signature.to_string();
    let verdict = known.label(&m.signature, m.violation.invariant);
    let stacked = matches!(verdict, KnownLabel::Stacked(_));
    let entries = verdict.entries();
    let keys: Vec<(String, Option<&Known>)> = if entries.is_empty() {
        vec![(sig.clone(), None)]
    } else {
        entries
            .into_iter()
            .map(|k| (format!("known {}", k.id), Some(k)))
            .collect()
    };
    for (key, k) in keys {
        let candidate = Bucket {
            signature: sig.clone(),
            label: label.clone(),
            known: k.map(|k| k.id.clone()),
            known_status: k.map(|k| k.status.clone()),
            stacked: Vec::new(),
            files: Vec::new(),
            representative: c.path.clone(),
            violation_line: m.violation.to_string(),
            ops_before: m.ops_before,
            ops_after: m.ops_after,
            minimized: m.bytes.clone(),
            settings: Some(c.settings),
            target: Some(c.target),
            peer: c.peer,
        };
        file_crash(map, key, candidate, stacked);
    }
}

/// Add the crash `candidate` represents (a stacked root cause or not) to the bucket at
/// `key`, opened with it as representative, or made its representative when better.
fn file_crash(map: &mut BTreeMap<String, Bucket>, key: String, candidate: Bucket, stacked: bool) {
    let path = candidate.representative.clone();
    let (b, candidate) = match map.entry(key) {
        Entry::Vacant(e) => (e.insert(candidate), None),
        Entry::Occupied(e) => (e.into_mut(), Some(candidate)),
    };
    b.files.push(path.clone());
    if stacked {
        b.stacked.push(path);
    }
    let Some(candidate) = candidate else {
        return;
    };
    // A minimized input of `target` is preferred to a peer's raw file as the
    // representative, whatever their lengths; a single root cause to a stacked
    // one (its witness shows only that cause).
    let b_stacked = b.stacked.contains(&b.representative);
    let better = match (candidate.peer.is_some(), b.peer.is_some()) {
        (false, true) => true,
        (true, false) => false,
        _ => (stacked, candidate.ops_after) < (b_stacked, b.ops_after),
    };
    if better {
        // The representative's signature with it: the bucket's signature, explain's
        // and report's root-cause lines are of the same file. The key (known finding
        // or signature) is the same, so are `known` and `known_status`.
        *b = Bucket {
            files: std::mem::take(&mut b.files),
            stacked: std::mem::take(&mut b.stacked),
            ..candidate
        };
    }
}

/// A peer's crash file replayed as the peer's own scenario, in the shape the bucket
/// needs: the signature of that replay (the one [`analyze_source`] of ours), the
/// scenario cut after the violating operation, the raw bytes. `Ok(None)`: clean.
fn peer_replay(peer: Peer, data: &[u8], settings: &Settings) -> Result<Option<Minimized>, String> {
    let (config, mut ops) = peer
        .scenario(data)
        .ok_or_else(|| format!("not a {} input", peer.name()))?;
    let source = Source::Ops(config, &ops);
    let Some(a) = analyze_source(source, settings.revision, settings.invariants) else {
        return Ok(None);
    };
    let (violation, signature) = (a.violation, a.signature);
    let ops_before = ops.len();
    ops.truncate(violation.step as usize + 1);
    Ok(Some(Minimized {
        ops_before,
        ops_after: ops.len(),
        scenario: Scenario { config, ops },
        bytes: data.to_vec(),
        violation,
        signature,
        runs: 0,
    }))
}

/// A name `crate::campaign::store` gives a crash file it keeps: a prefix, `-`, the content's sha1.
fn campaign_kept(name: &str) -> bool {
    name.rsplit_once('-').is_some_and(|(prefix, sha)| {
        !prefix.is_empty() && sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Crash-like files under `dir` (libFuzzer `crash-*`, AFL++ `crashes/id:*`, honggfuzz
/// `*.fuzz`, `*.bin`, and a campaign's kept crash files `<engine>-<sha1>`), sorted; `dir`
/// itself if it is a file.
pub fn crash_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if meta.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let in_crashes = p
                .parent()
                .and_then(|d| d.file_name())
                .is_some_and(|n| n == "crashes");
            if name.starts_with("crash-")
                || (in_crashes && name.starts_with("id:"))
                || name.ends_with(".fuzz")
                || name.ends_with(".bin")
                || campaign_kept(name)
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The target and revision a path names in one of its components, if any.
pub fn infer_from_path(path: &Path) -> (Option<Target>, Option<Revision>) {
    let mut target = None;
    let mut revision = None;
    for c in path.components() {
        let c = c.as_os_str().to_string_lossy();
        for t in Target::ALL {
            if c == t.name() || c.starts_with(&format!("{}_", t.name())) {
                target = Some(t);
            }
        }
        for r in Revision::ALL {
            if c == r.name() {
                revision = Some(r);
            }
        }
    }
    (target, revision)
}
