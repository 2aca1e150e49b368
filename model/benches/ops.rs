//! Model operations per second on a mixed operation stream: 256 fixed-seed streams of 64
//! operations (every `Op` variant, from the generator of the property test), each applied
//! to a fresh partition, per revision. Building the fresh partition is outside the timed
//! region.
//!
//! The generator also produces invalid operations (out-of-range VPs, slots, devices,
//! `Vtl2`), which the model refuses almost for free; the workload keeps only operations
//! that `head` accepts, so the figure is for operations that do work. A refused operation
//! changes nothing, so dropping them leaves the state trajectory of every other operation
//! unchanged.
//!
//! Run: `cargo bench -p sintfuzz-model --bench ops`. Divan reports `items/s` = model
//! operations per second.

#[path = "../tests/common/gen.rs"]
mod gen;

use std::cell::Cell;

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use sintfuzz_model::{Config, Event, Op, OpResult, Partition, Revision};

const STREAMS: usize = 256;
const OPS_PER_STREAM: usize = 64;
const SEED: u64 = 0xbe4c_0000_5117_f022;

fn main() {
    divan::main();
}

fn workload() -> Vec<(Config, Vec<Op>)> {
    let mut rng = gen::Rng::new(SEED);
    (0..STREAMS)
        .map(|_| {
            let config = gen::config(&mut rng, false);
            let mut head = Partition::new(config, Revision::Head);
            let mut ops = Vec::with_capacity(OPS_PER_STREAM);
            while ops.len() < OPS_PER_STREAM {
                let op = gen::op(&mut rng);
                if !matches!(head.apply(&op, &mut ()), OpResult::Refused(_)) {
                    ops.push(op);
                }
            }
            (config, ops)
        })
        .collect()
}

/// The next stream, round robin, on a fresh partition.
fn inputs<'a>(
    work: &'a [(Config, Vec<Op>)],
    next: &Cell<usize>,
    revision: Revision,
) -> (Partition, &'a [Op]) {
    let i = next.get();
    next.set((i + 1) % work.len());
    let (config, ops) = &work[i];
    (Partition::new(*config, revision), ops)
}

/// Events discarded (`()` observer): the fuzzing hot path.
#[divan::bench(args = Revision::ALL, sample_count = 1024, sample_size = 4)]
fn apply(bencher: Bencher, revision: Revision) {
    let work = workload();
    let next = Cell::new(0);
    bencher
        .counter(ItemsCount::new(OPS_PER_STREAM))
        .with_inputs(|| inputs(&work, &next, revision))
        .bench_local_values(|(mut p, ops)| {
            for op in ops {
                black_box(p.apply(black_box(op), &mut ()));
            }
            p
        });
}

/// Events recorded into a `Vec<Event>` (what an oracle or `explain` pays).
#[divan::bench(args = Revision::ALL, sample_count = 1024, sample_size = 4)]
fn apply_recording_events(bencher: Bencher, revision: Revision) {
    let work = workload();
    let next = Cell::new(0);
    bencher
        .counter(ItemsCount::new(OPS_PER_STREAM))
        .with_inputs(|| {
            let (p, ops) = inputs(&work, &next, revision);
            (p, ops, Vec::<Event>::with_capacity(4096))
        })
        .bench_local_values(|(mut p, ops, mut events)| {
            for op in ops {
                black_box(p.apply(black_box(op), &mut events));
            }
            (p, events)
        });
}
