//! The campaign's persistent output directory (`--out`), kept across runs:
//!
//! ```text
//! OUT/corpus/<target>/<revision>/   the corpus every engine shares; the next run resumes it
//! OUT/crashes/<target>/<revision>/  every crash file, named <engine>-<sha1>, never deleted
//! OUT/.lock, OUT/.engines           the running campaign's PID and its engine groups
//! OUT/history.json                  every bucket seen: first/last seen, count, runs
//! OUT/work/<engine>/<target>/<revision>/   the engines' scratch space of the last run
//! OUT/buckets/, OUT/plots/, OUT/report.md, OUT/report.json   the last run's report
//! ```
//!
//! A corpus is kept per revision because coverage feedback depends on the filter code the
//! revision selects. `--fresh` deletes the corpus, crashes and history first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sintfuzz_model::Revision;
use sintfuzz_targets::Target;

use crate::Fail;

pub struct Store {
    pub root: PathBuf,
    /// Held for the whole run: one campaign per output directory.
    pub lock: std::sync::Arc<crate::engine::lock::OutLock>,
}

fn io(p: &Path, e: std::io::Error) -> Fail {
    Fail::Usage(format!("{}: {e}", p.display()))
}

impl Store {
    /// Open (and create) `root`, checking it is writable; `fresh` deletes what earlier
    /// runs kept there (only the directories and files this module names).
    pub fn open(root: &Path, fresh: bool) -> Result<Self, Fail> {
        let probe = root.join(".sintfuzz-write-test");
        std::fs::create_dir_all(root)
            .and_then(|_| std::fs::write(&probe, b""))
            .and_then(|_| std::fs::remove_file(&probe))
            .map_err(|e| {
                Fail::Usage(format!(
                    "{}: not a writable output directory: {e}",
                    root.display()
                ))
            })?;
        let s = Store {
            root: root.to_path_buf(),
            lock: std::sync::Arc::new(crate::engine::lock::OutLock::acquire(root)?),
        };
        if fresh {
            for d in ["corpus", "crashes", "work", "buckets", "plots"] {
                let p = root.join(d);
                if p.exists() {
                    std::fs::remove_dir_all(&p).map_err(|e| io(&p, e))?;
                }
            }
            let h = s.history_path();
            if h.exists() {
                std::fs::remove_file(&h).map_err(|e| io(&h, e))?;
            }
        }
        Ok(s)
    }

    pub fn corpus(&self, t: Target, r: Revision) -> PathBuf {
        self.root.join("corpus").join(t.name()).join(r.name())
    }

    pub fn crashes(&self, t: Target, r: Revision) -> PathBuf {
        self.root.join("crashes").join(t.name()).join(r.name())
    }

    pub fn work(&self, engine: &str, t: Target, r: Revision) -> PathBuf {
        self.root
            .join("work")
            .join(engine)
            .join(t.name())
            .join(r.name())
    }

    fn history_path(&self) -> PathBuf {
        self.root.join("history.json")
    }

    pub fn load_history(&self) -> Result<History, Fail> {
        let p = self.history_path();
        match std::fs::read_to_string(&p) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                Fail::Usage(format!(
                    "{}: not a sintfuzz history ({e}); move it away or use --fresh",
                    p.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(History::default()),
            Err(e) => Err(io(&p, e)),
        }
    }

    pub fn save_history(&self, h: &History) -> Result<(), Fail> {
        let p = self.history_path();
        let tmp = p.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(h).expect("serializable"))
            .and_then(|_| std::fs::rename(&tmp, &p))
            .map_err(|e| io(&p, e))
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn utc(secs: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .to_string()
}

/// Every bucket every campaign in this directory has seen, and the runs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct History {
    #[serde(default)]
    pub runs: Vec<RunRecord>,
    /// Keyed by the bucket's root-cause signature.
    #[serde(default)]
    pub buckets: BTreeMap<String, Seen>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    pub started: u64,
    pub engines: String,
    pub targets: String,
    pub revision: String,
    pub invariants: String,
    pub budget_seconds: u64,
    pub buckets: usize,
    pub new_since_previous: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub first_seen: u64,
    pub last_seen: u64,
    /// Crash files over all runs.
    pub count: u64,
    /// Runs that found it.
    pub runs: u64,
    pub label: String,
}

impl History {
    /// Record a bucket found in the run started at `now` with `files` crash files; returns
    /// the updated entry and whether the bucket is new since the previous runs.
    pub fn note(&mut self, key: &str, label: &str, files: u64, now: u64) -> (Seen, bool) {
        let mut new = false;
        let e = self.buckets.entry(key.to_string()).or_insert_with(|| {
            new = true;
            Seen {
                first_seen: now,
                last_seen: now,
                count: 0,
                runs: 0,
                label: label.to_string(),
            }
        });
        e.last_seen = now;
        e.count += files;
        e.runs += 1;
        (e.clone(), new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_accumulates() {
        let mut h = History::default();
        let (s, new) = h.note("k", "lost-relay", 3, 100);
        assert!(new);
        assert_eq!(
            (s.first_seen, s.last_seen, s.count, s.runs),
            (100, 100, 3, 1)
        );
        let (s, new) = h.note("k", "lost-relay", 2, 200);
        assert!(!new);
        assert_eq!(
            (s.first_seen, s.last_seen, s.count, s.runs),
            (100, 200, 5, 2)
        );
        let (_, new) = h.note("other", "x", 1, 200);
        assert!(new);
    }
}
