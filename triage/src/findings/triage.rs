//! Crash files to buckets, for campaigns: every file is replayed first with model panics
//! caught, so that a file whose replay panics inside the model (an arithmetic panic, an
//! index out of range: anything but an oracle violation) becomes a `model-panic` bucket
//! and everything else is still minimized and bucketed.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Once;

use serde::Serialize;
use sintfuzz_targets::files::read_input;
use sintfuzz_targets::{Outcome, Settings, Target};

use crate::findings::bucket::{bucket, Buckets, Crash, KnownList};

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Run `f`, turning a panic into `Err(message)` without printing it.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    r.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic without a message".into())
    })
}

/// Crash files whose replay panics inside the model, grouped by target and message.
#[derive(Clone, Debug, Serialize)]
pub struct ModelPanic {
    pub target: String,
    pub revision: String,
    /// The panic message's first line.
    pub message: String,
    pub files: Vec<PathBuf>,
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
    let mut panics: BTreeMap<(String, String, String), Vec<PathBuf>> = BTreeMap::new();
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
            Err(msg) => panics
                .entry((
                    c.target.name().to_string(),
                    c.settings.revision.name().to_string(),
                    msg.lines().next().unwrap_or("").to_string(),
                ))
                .or_default()
                .push(c.path.clone()),
        }
    }
    // Minimizing replays variants of each file: one of them may panic where the file did
    // not. Then bucket file by file so that only that file is lost to the panic bucket.
    let mut buckets = match quietly(|| bucket(&good, known)) {
        Ok(b) => b,
        Err(_) => {
            let mut all = Buckets::default();
            for c in &good {
                match quietly(|| bucket(std::slice::from_ref(c), known)) {
                    Ok(b) => {
                        for nb in b.buckets {
                            // The key `bucket` uses: the known finding, else the signature.
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
                    Err(msg) => panics
                        .entry((
                            c.target.name().to_string(),
                            c.settings.revision.name().to_string(),
                            format!("while minimizing: {}", msg.lines().next().unwrap_or("")),
                        ))
                        .or_default()
                        .push(c.path.clone()),
                }
            }
            all
        }
    };
    buckets.errors.extend(unreadable);
    Triage {
        buckets,
        panics: panics
            .into_iter()
            .map(|((target, revision, message), files)| ModelPanic {
                target,
                revision,
                message,
                files,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_replay_is_caught_and_named() {
        assert_eq!(quietly(|| 7), Ok(7));
        let e = quietly(|| {
            let v: Vec<u8> = Vec::new();
            v[3]
        })
        .unwrap_err();
        assert!(e.contains("index out of bounds"), "{e}");
    }
}
