//! In-process executions per second of each target on each revision,
//! over fixed-seed random inputs (the engine-independent ceiling of a fuzzing run).

use std::time::{Duration, Instant};

use sintfuzz_model::Revision;
use sintfuzz_targets::codec::decode;
use sintfuzz_targets::harness::run_skips;
use sintfuzz_targets::oracle::Skips;
use sintfuzz_targets::rng::SplitMix64;
use sintfuzz_targets::{run, InvariantSet, Settings, Target};

/// Fixed-seed inputs, so every run measures the same work.
fn inputs(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let mut rng = SplitMix64(seed);
    (0..n).map(|_| rng.input()).collect()
}

pub struct Row {
    pub target: Target,
    pub revision: Revision,
    pub execs: u64,
    pub seconds: f64,
    pub mean_ops: f64,
    /// The oracle's judged deliveries and skips over the same inputs (counted in a pass
    /// of its own, after the timing).
    pub skips: Skips,
}

/// Measure each (target, revision) for `per_cell`, with no invariants enabled so that
/// every input runs to its end.
pub fn bench(
    targets: &[Target],
    revisions: &[Revision],
    per_cell: Duration,
    seed: u64,
) -> Vec<Row> {
    let data = inputs(seed, 4096);
    let mut rows = Vec::new();
    for &target in targets {
        let ops: usize = data.iter().map(|d| decode(target, d).ops.len()).sum();
        let mean_ops = ops as f64 / data.len() as f64;
        for &revision in revisions {
            let settings = Settings {
                revision,
                invariants: InvariantSet::NONE,
            };
            let start = Instant::now();
            let mut execs = 0u64;
            while start.elapsed() < per_cell {
                for d in &data {
                    std::hint::black_box(run(target, d, &settings));
                }
                execs += data.len() as u64;
            }
            let seconds = start.elapsed().as_secs_f64();
            let mut skips = Skips::default();
            for d in &data {
                skips.add(&run_skips(target, d, &settings).1);
            }
            rows.push(Row {
                target,
                revision,
                execs,
                seconds,
                mean_ops,
                skips,
            });
        }
    }
    rows
}
