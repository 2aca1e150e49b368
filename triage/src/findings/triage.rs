//! Crash files to buckets, for campaigns: every file is replayed first with model panics
//! caught, so that a file whose replay panics inside the model (an arithmetic panic, an
//! index out of range: anything but an oracle violation) becomes a `model-panic` bucket
//! and everything else is still minimized and bucketed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use sintfuzz_targets::files::read_input;
use sintfuzz_targets::{Outcome, Settings, Target};

use crate::findings::bucket::{bucket, Buckets, Crash, KnownList};
use crate::panics::{last_panic_site, quietly};

/// Crash files whose replay panics inside the model, grouped by target, revision and
/// panic site (`file:line`): one defect, whatever index values its messages carry.
#[derive(Clone, Debug, Serialize)]
pub struct ModelPanic {
    pub target: String,
    pub revision: String,
    /// Where it panics (`file:line`), or the message's first line when the panic has no
    /// location.
    pub site: String,
    /// The first line of one file's panic message (an example).
    pub message: String,
    pub files: Vec<PathBuf>,
    /// The shortest file of the group, minimized (operations removed while the replay
    /// still panics at `site`), in the canonical encoding.
    #[serde(skip)]
    pub minimized: Vec<u8>,
    /// Its operation count.
    pub minimized_ops: usize,
}

/// The key of a caught panic: its site, else its message's first line.
fn site_of(msg: &str) -> String {
    last_panic_site().unwrap_or_else(|| msg.lines().next().unwrap_or("").to_string())
}

/// `data` with operations removed, one at a time, while its replay still panics at
/// `site` (a 1-minimal witness of the model defect).
fn minimize_panic(
    target: Target,
    data: &[u8],
    settings: &Settings,
    site: &str,
    replay: Replay,
) -> (Vec<u8>, usize) {
    use sintfuzz_targets::codec::{decode, encode};
    let mut s = decode(target, data);
    let panics_here = |s: &sintfuzz_targets::Scenario| {
        encode(target, s)
            .ok()
            .filter(|b| quietly(|| replay(target, b, settings)).is_err_and(|m| site_of(&m) == site))
    };
    let Some(mut best) = panics_here(&s) else {
        return (data.to_vec(), s.ops.len());
    };
    let mut i = 0;
    while i < s.ops.len() {
        let mut c = s.clone();
        c.ops.remove(i);
        match panics_here(&c) {
            Some(b) => {
                s = c;
                best = b;
            }
            None => i += 1,
        }
    }
    (best, s.ops.len())
}

pub struct Triage {
    pub buckets: Buckets,
    pub panics: Vec<ModelPanic>,
}

pub type Replay<'a> = &'a (dyn Fn(Target, &[u8], &Settings) -> Outcome + Sync);

/// Bucket `crashes` with the real model.
pub fn triage(crashes: &[Crash], known: &KnownList) -> Triage {
    triage_with(crashes, known, &|t, d, s| sintfuzz_targets::run(t, d, s))
}

/// [`triage`] with the replay given (tests pass one that panics).
pub fn triage_with(crashes: &[Crash], known: &KnownList, replay: Replay) -> Triage {
    let mut panics = PanicGroups::default();
    let mut good = Vec::new();
    let mut unreadable = Vec::new();
    for c in crashes {
        let data = match read_input(&c.path) {
            Ok(d) => d,
            Err(e) => {
                unreadable.push((c.path.clone(), e));
                continue;
            }
        };
        match quietly(|| replay(c.target, &data, &c.settings)) {
            Ok(_) => good.push(c.clone()),
            Err(msg) => panics.replay_panicked(c, &msg),
        }
    }
    let mut buckets = bucket_guarded(&good, known, &mut panics);
    buckets.errors.extend(unreadable);
    Triage {
        buckets,
        panics: panics.minimized(replay),
    }
}

/// One group of model panics: the message's first line, its files, and the shortest
/// file to minimize (none for a panic while minimizing).
type PanicGroup = (String, Vec<PathBuf>, Option<Crash>);

/// Model panics by (target, revision, site).
#[derive(Default)]
struct PanicGroups(BTreeMap<(String, String, String), PanicGroup>);

impl PanicGroups {
    /// The group of `c` at `site`, opened with `msg` as its example.
    fn group(&mut self, c: &Crash, site: String, msg: &str) -> &mut PanicGroup {
        self.0
            .entry((
                c.target.name().to_string(),
                c.settings.revision.name().to_string(),
                site,
            ))
            .or_insert_with(|| {
                (
                    msg.lines().next().unwrap_or("").to_string(),
                    Vec::new(),
                    None,
                )
            })
    }

    /// `c`'s replay panicked with `msg` (just caught: the site is this thread's last).
    fn replay_panicked(&mut self, c: &Crash, msg: &str) {
        let g = self.group(c, site_of(msg), msg);
        g.1.push(c.path.clone());
        let len = |p: &PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(u64::MAX);
        if g.2.as_ref().is_none_or(|p| len(&c.path) < len(&p.path)) {
            g.2 = Some(c.clone());
        }
    }

    /// Minimizing `c` panicked with `msg` (just caught).
    fn minimizing_panicked(&mut self, c: &Crash, msg: &str) {
        let site = format!("while minimizing: {}", site_of(msg));
        self.group(c, site, msg).1.push(c.path.clone());
    }

    /// The groups as [`ModelPanic`]s, each shortest file minimized, the most files first.
    fn minimized(self, replay: Replay) -> Vec<ModelPanic> {
        let mut v: Vec<ModelPanic> = self
            .0
            .into_iter()
            .map(|((target, revision, site), (message, files, shortest))| {
                let (minimized, minimized_ops) = shortest
                    .and_then(|c| {
                        let data = read_input(&c.path).ok()?;
                        Some(minimize_panic(c.target, &data, &c.settings, &site, replay))
                    })
                    .unwrap_or_default();
                ModelPanic {
                    target,
                    revision,
                    site,
                    message,
                    files,
                    minimized,
                    minimized_ops,
                }
            })
            .collect();
        v.sort_by_key(|p| std::cmp::Reverse(p.files.len()));
        v
    }
}

/// Bucket `good` (files whose replay did not panic). Minimizing replays variants of each
/// file: one of them may panic where the file did not. Then bucket file by file so that
/// only that file is lost to the panic bucket.
fn bucket_guarded(good: &[Crash], known: &KnownList, panics: &mut PanicGroups) -> Buckets {
    if let Ok(b) = quietly(|| bucket(good, known)) {
        return b;
    }
    let mut all = Buckets::default();
    for c in good {
        match quietly(|| bucket(std::slice::from_ref(c), known)) {
            Ok(b) => merge_buckets(&mut all, b),
            Err(msg) => panics.minimizing_panicked(c, &msg),
        }
    }
    all
}

/// Add `b`'s buckets to `all`'s, by the key `bucket` uses: the known finding, else the
/// signature.
fn merge_buckets(all: &mut Buckets, b: Buckets) {
    for nb in b.buckets {
        let same = |x: &&mut super::bucket::Bucket| match &nb.known {
            Some(id) => x.known.as_ref() == Some(id),
            None => x.known.is_none() && x.signature == nb.signature,
        };
        match all.buckets.iter_mut().find(same) {
            Some(x) => {
                x.files.extend(nb.files);
                x.stacked.extend(nb.stacked);
            }
            None => all.buckets.push(nb),
        }
    }
    all.clean.extend(b.clean);
    all.errors.extend(b.errors);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20: panics at one site with different messages (index values) are one model
    /// panic, listed by count, and its shortest file is minimized to what still panics.
    #[test]
    fn model_panics_group_by_site_and_are_minimized() {
        use sintfuzz_model::op::RunVp;
        use sintfuzz_model::{Config, Op, Revision};
        use sintfuzz_targets::codec::{decode, encode, Scenario};
        use sintfuzz_targets::InvariantSet;
        let dir = std::env::temp_dir().join(format!("sintfuzz-panic-site-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let settings = Settings {
            revision: Revision::Head,
            invariants: InvariantSet::default_set(),
        };
        let run = |vp| Op::RunVp(RunVp { vp });
        let mut crashes = Vec::new();
        for n in 2..5usize {
            let ops: Vec<Op> = (0..n).map(|i| run((i % 2) as u8)).collect();
            let bytes = encode(
                Target::AllOps,
                &Scenario {
                    config: Config {
                        vp_count: 2,
                        ..Config::default()
                    },
                    ops,
                },
            )
            .unwrap();
            let path = dir.join(format!("crash-{n}"));
            std::fs::write(&path, bytes).unwrap();
            crashes.push(Crash {
                path,
                target: Target::AllOps,
                settings,
                peer: None,
            });
        }
        // Panics (index = operation count, so every message differs) when a RunVp of VP 1
        // is in the input; one site.
        let replay: Replay = &|t, d, s| {
            let ops = decode(t, d).ops;
            if ops.contains(&Op::RunVp(RunVp { vp: 1 })) {
                let v: Vec<u8> = Vec::new();
                let _ = v[ops.len()];
            }
            sintfuzz_targets::run(t, d, s)
        };
        let t = triage_with(&crashes, &KnownList::default(), replay);
        assert_eq!(t.panics.len(), 1, "{:?}", t.panics);
        let p = &t.panics[0];
        assert_eq!(p.files.len(), 3);
        assert!(p.site.contains("triage.rs:"), "{}", p.site);
        assert_eq!(p.minimized_ops, 1);
        assert_eq!(decode(Target::AllOps, &p.minimized).ops, vec![run(1)]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
