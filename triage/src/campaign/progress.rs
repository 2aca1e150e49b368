//! What a campaign (or a trial) shows while its engines run. On a terminal: one live line
//! per running engine (indicatif). Off a terminal: a plain line per running engine every
//! [`PLAIN_EVERY`]. Both read what the runners publish in [`Shared`]: the runs under way
//! and their latest [`crate::engine::runner::Sample`], and the crash files found so far, which a
//! background pass sorts into root-cause buckets (known or new) as they come.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sintfuzz_targets::known::KnownList;
use sintfuzz_targets::signature::analyze;

use crate::engine::console;
use crate::engine::runner::{LiveRun, Sample, Shared};

/// Off a terminal, one line per running engine this often.
pub const PLAIN_EVERY: Duration = Duration::from_secs(15);
/// On a terminal, the display is redrawn this often.
const TICK: Duration = Duration::from_millis(250);
/// The most time one tick spends sorting new crash files into buckets, so a burst of
/// crash files cannot starve the display (the rest wait for the next tick).
const SORT_BUDGET: Duration = Duration::from_millis(150);

/// The running display; [`Progress::finish`] clears it.
pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Start showing the runs of `shared`, bucketing crash files against `known`.
    pub fn start(shared: Arc<Shared>, known: KnownList) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let tty = std::io::stderr().is_terminal();
        let thread = std::thread::spawn(move || show(&shared, &known, &s, tty));
        Progress {
            stop,
            thread: Some(thread),
        }
    }

    pub fn finish(mut self) {
        self.end();
    }

    fn end(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.end();
    }
}

/// Crash files sorted into root-cause buckets so far: signature → known id, or `None`.
#[derive(Default)]
struct Sorted {
    next: usize,
    buckets: BTreeMap<String, Option<String>>,
}

impl Sorted {
    /// Sort the crash files that came since the last call, within [`SORT_BUDGET`].
    fn catch_up(&mut self, shared: &Shared, known: &KnownList) {
        let t0 = Instant::now();
        loop {
            let next = shared
                .found
                .lock()
                .expect("not poisoned")
                .get(self.next)
                .cloned();
            let Some((path, target, settings)) = next else {
                break;
            };
            self.next += 1;
            let analysis = std::fs::read(&path).ok().and_then(|data| {
                crate::panics::quietly(|| {
                    analyze(target, settings.revision, settings.invariants, &data)
                })
                .ok()
                .flatten()
            });
            if let Some(a) = analysis {
                let id = known
                    .find(&a.signature, a.violation.invariant)
                    .map(|(_, k)| k.id.clone());
                self.buckets
                    .insert(id.clone().unwrap_or_else(|| a.signature.to_string()), id);
            }
            if t0.elapsed() > SORT_BUDGET {
                break;
            }
        }
    }

    fn label(&self) -> String {
        let known = self.buckets.values().filter(|k| k.is_some()).count();
        format!("buckets {known} known, {} new", self.buckets.len() - known)
    }
}

/// One line of figures for a run: its latest sample and the buckets so far.
fn figures(run: &LiveRun, sample: Option<&Sample>, sorted: &Sorted) -> String {
    let num = |n: u64| {
        if n >= 10_000_000 {
            format!("{:.1}M", n as f64 / 1e6)
        } else if n >= 10_000 {
            format!("{}k", n / 1000)
        } else {
            n.to_string()
        }
    };
    let (execs, rate, cov, corpus, crashes) = sample.map_or((0, 0.0, None, None, 0), |s| {
        (s.execs, s.exec_per_sec, s.coverage, s.corpus, s.crash_files)
    });
    format!(
        "{} {} {}: {} execs ({}/s), cov {}, corpus {}, {} crash file(s), {}",
        run.engine,
        run.target,
        run.revision,
        num(execs),
        num(rate as u64),
        cov.map_or("-".into(), |c| c.to_string()),
        corpus.map_or("-".into(), |c| c.to_string()),
        crashes,
        sorted.label()
    )
}

fn show(shared: &Shared, known: &KnownList, stop: &AtomicBool, tty: bool) {
    let multi = MultiProgress::with_draw_target(if tty {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style = ProgressStyle::with_template("{prefix:>7} [{bar:24}] {msg}")
        .expect("a valid template")
        .progress_chars("=> ");
    if tty {
        console::show_above(Some(multi.clone()));
    }
    let mut bars: BTreeMap<usize, ProgressBar> = BTreeMap::new();
    let mut sorted = Sorted::default();
    let mut last_plain = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(TICK);
        sorted.catch_up(shared, known);
        let runs = shared.runs.lock().expect("not poisoned").clone();
        let latest: BTreeMap<(&str, &str), Sample> = {
            let samples = shared.samples.lock().expect("not poisoned");
            let mut m = BTreeMap::new();
            for s in samples.iter().rev() {
                m.entry((s.engine, s.target)).or_insert_with(|| s.clone());
                if m.len() >= runs.len() {
                    break;
                }
            }
            m
        };
        let now = shared.start.elapsed().as_secs_f64();
        let running: BTreeSet<usize> = runs
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.done)
            .map(|(i, _)| i)
            .collect();
        if tty {
            for (i, r) in runs.iter().enumerate() {
                let bar = bars.entry(i).or_insert_with(|| {
                    let b = multi.add(ProgressBar::new(r.seconds.max(1)));
                    b.set_style(style.clone());
                    b
                });
                let elapsed = (now - r.began).max(0.0) as u64;
                bar.set_position(elapsed.min(r.seconds));
                bar.set_prefix(format!("{}/{}s", elapsed.min(r.seconds), r.seconds));
                bar.set_message(figures(r, latest.get(&(r.engine, r.target)), &sorted));
                if r.done && !bar.is_finished() {
                    bar.finish();
                }
            }
        } else if last_plain.elapsed() >= PLAIN_EVERY && !running.is_empty() {
            last_plain = Instant::now();
            for &i in &running {
                let r = &runs[i];
                eprintln!(
                    "sintfuzz: [{:.0}/{} s] {}",
                    (now - r.began).max(0.0),
                    r.seconds,
                    figures(r, latest.get(&(r.engine, r.target)), &sorted)
                );
            }
        }
    }
    console::show_above(None);
    let _ = multi.clear();
}
