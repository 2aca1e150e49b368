//! The operation-level mutator for libFuzzer (`fuzz_mutator!` and `fuzz_crossover!`,
//! installed by [`libfuzzer_mutator!`](crate::libfuzzer_mutator); today only in the
//! benchmark target `fuzz/bench_targets/relay_lifecycle_ops.rs`: measured, it costs more
//! CPU per execution than it saves in executions, bench/results.md). libFuzzer's own
//! mutations are byte-level on a format whose meaning is op-level: a changed byte
//! often shifts every later operation. This one decodes the input, changes it as the
//! guest, host or scheduler would (insert, delete, duplicate, swap operations, splice two
//! inputs, set one field to a neighbour or an interesting value, flip one bit of a field)
//! and writes the canonical encoding back. A share of calls ([`BYTE_SHARE`]) goes to the
//! engine's byte mutator instead, which keeps its compare-guided (value profile, CMP)
//! mutations.
//!
//! Fields are changed through the codec's own field functions (`codec::recode` with a
//! [`Stream`] that edits one field), so every kind, including kinds appended later, is
//! mutated field by field with no per-kind code here, and every output decodes.
//! Deterministic: the same input and seed give the same output.

use sintfuzz_model::hvdef::{msr, reg, Sint, VMBUS_SINT};
use sintfuzz_model::{Config, Op};

use crate::codec::{
    encode_prefix, recode, recode_config, Decoder, KindTable, Scenario, Stream, MAX_CANONICAL_LEN,
    MAX_OPS,
};
use crate::rng::SplitMix64;
use crate::target::Target;

/// One call in this many goes to the engine's byte mutator.
pub const BYTE_SHARE: u64 = 5;

/// Interesting values by field width: the vectors of the issue (0x0f/0x10 at the
/// reserved-vector edge, 0x2f/0x30 the usual SINT vectors, 0xff, 0x100/0x130 past a
/// `u8`), small VP, slot and SINT indexes (SINT2 is VMBus), the SINT MSR and register
/// of SINT2, `HV_VP_INDEX_SELF` and "no interrupt".
const U8: &[u64] = &[0, 1, 2, 3, 0x0f, 0x10, 0x2f, 0x30, 0x7f, 0x80, 0xfe, 0xff];
const U16: &[u64] = &[0, 2, 0x0f, 0x10, 0x2f, 0x30, 0xff, 0x100, 0x130, 0xffff];
const U32: &[u64] = &[
    0,
    1,
    2,
    0x2f,
    0x30,
    0x130,
    msr::SINT0 as u64 + VMBUS_SINT as u64,
    reg::SINT0 as u64 + VMBUS_SINT as u64,
    msr::SCONTROL as u64,
    0xffff_fffe,
    0xffff_ffff,
];
const U64: &[u64] = &[
    0,
    1,
    0x2f,
    0x30,
    Sint::PROXY | 0x2f,
    Sint::MASKED | 0x2f,
    Sint::MASKED,
    u64::MAX,
];

fn interesting(bits: u32) -> &'static [u64] {
    match bits {
        8 => U8,
        16 => U16,
        32 => U32,
        _ => U64,
    }
}

fn mask(bits: u32) -> u64 {
    if bits == 64 {
        u64::MAX
    } else {
        (1 << bits) - 1
    }
}

fn pick<T: Copy>(rng: &mut SplitMix64, from: &[T]) -> T {
    from[(rng.next_u64() % from.len() as u64) as usize]
}

fn below(rng: &mut SplitMix64, n: usize) -> usize {
    (rng.next_u64() % n.max(1) as u64) as usize
}

/// A new value for a field of `bits` bits: a neighbour, an interesting value, one bit
/// flipped, or random.
fn tweak(rng: &mut SplitMix64, v: u64, bits: u32) -> u64 {
    let out = match rng.next_u64() % 8 {
        0 => v.wrapping_add(1),
        1 => v.wrapping_sub(1),
        2..=4 => pick(rng, interesting(bits)),
        5 | 6 => v ^ 1 << (rng.next_u64() % bits as u64),
        _ => rng.next_u64(),
    };
    out & mask(bits)
}

/// Counts the fields a kind reads.
struct Count(usize);

impl Stream for Count {
    fn u8(&mut self, _: &mut u8) {
        self.0 += 1
    }
    fn u16(&mut self, _: &mut u16) {
        self.0 += 1
    }
    fn u32(&mut self, _: &mut u32) {
        self.0 += 1
    }
    fn u64(&mut self, _: &mut u64) {
        self.0 += 1
    }
}

/// Changes field number `at` (or, with `at == usize::MAX`, fills every field: a new
/// operation) and passes the others through.
struct Edit<'r> {
    rng: &'r mut SplitMix64,
    at: usize,
    seen: usize,
}

impl Edit<'_> {
    fn field(&mut self, v: u64, bits: u32) -> u64 {
        let hit = self.at == usize::MAX || self.seen == self.at;
        self.seen += 1;
        if !hit {
            v
        } else if self.at == usize::MAX {
            // A fresh field: mostly interesting or small values, so that a new operation
            // lands on configured SINTs, VPs and channels.
            match self.rng.next_u64() % 4 {
                0 | 1 => pick(self.rng, interesting(bits)),
                2 => self.rng.next_u64() % 4,
                _ => self.rng.next_u64() & mask(bits),
            }
        } else {
            tweak(self.rng, v, bits)
        }
    }
}

impl Stream for Edit<'_> {
    fn u8(&mut self, v: &mut u8) {
        *v = self.field(*v as u64, 8) as u8
    }
    fn u16(&mut self, v: &mut u16) {
        *v = self.field(*v as u64, 16) as u16
    }
    fn u32(&mut self, v: &mut u32) {
        *v = self.field(*v as u64, 32) as u32
    }
    fn u64(&mut self, v: &mut u64) {
        *v = self.field(*v, 64)
    }
}

/// A decoded input with the kind (table index) of each operation.
struct Ops {
    table: KindTable,
    config: Config,
    ops: Vec<(usize, Op)>,
}

impl Ops {
    fn decode(table: KindTable, data: &[u8]) -> Self {
        let mut d = Decoder::with_table(table, data);
        let ops = std::iter::from_fn(|| d.next_indexed()).collect();
        Ops {
            table,
            config: d.config,
            ops,
        }
    }

    fn vps(&self) -> u8 {
        self.config.vps() as u8
    }

    /// A new operation of a random kind.
    fn fresh(&self, rng: &mut SplitMix64) -> (usize, Op) {
        let kind = below(rng, self.table.kinds.len());
        let mut op = Op::RunVp(sintfuzz_model::op::RunVp { vp: 0 });
        let vps = self.vps();
        let mut edit = Edit {
            rng,
            at: usize::MAX,
            seen: 0,
        };
        recode(self.table.kinds[kind], &mut edit, vps, &mut op);
        (kind, op)
    }

    /// Change one field of operation `i`.
    fn tweak_op(&mut self, rng: &mut SplitMix64, i: usize) {
        let vps = self.vps();
        let (kind, op) = &mut self.ops[i];
        let kind = self.table.kinds[*kind];
        let mut count = Count(0);
        recode(kind, &mut count, vps, &mut op.clone());
        let at = below(rng, count.0);
        recode(kind, &mut Edit { rng, at, seen: 0 }, vps, op);
    }

    /// Change one config field, then bring every operation's VP fields into range.
    fn tweak_config(&mut self, rng: &mut SplitMix64) {
        let at = below(rng, 2);
        recode_config(&mut Edit { rng, at, seen: 0 }, &mut self.config);
        let vps = self.vps();
        let mut count = Count(0);
        for (kind, op) in &mut self.ops {
            // Passing the fields through unchanged re-applies `vp % vps`.
            count.0 = 0;
            recode(self.table.kinds[*kind], &mut count, vps, op);
        }
    }

    fn insert(&mut self, i: usize, op: (usize, Op)) {
        if self.ops.len() < MAX_OPS {
            self.ops.insert(i, op);
        }
    }

    /// The canonical bytes of as many leading operations as fit in `out`.
    fn write(&self, out: &mut [u8]) -> Option<usize> {
        let s = Scenario {
            config: self.config,
            ops: self.ops.iter().map(|&(_, op)| op).collect(),
        };
        let (bytes, _) = encode_prefix(self.table, &s, out.len()).ok()?;
        (bytes.len() <= out.len()).then(|| {
            out[..bytes.len()].copy_from_slice(&bytes);
            bytes.len()
        })
    }
}

/// libFuzzer's custom mutator: mutate `data[..size]` in place to at most `max_size`
/// bytes and return the new size. `bytes` is the engine's byte mutator
/// (`libfuzzer_sys::fuzzer_mutate`), used for one call in [`BYTE_SHARE`] and whenever
/// the canonical result would not fit.
pub fn mutate(
    target: Target,
    data: &mut [u8],
    size: usize,
    max_size: usize,
    seed: u32,
    bytes: impl FnOnce(&mut [u8], usize, usize) -> usize,
) -> usize {
    let mut rng = SplitMix64(seed as u64 ^ 0x6d75_7461_7465);
    if rng.next_u64().is_multiple_of(BYTE_SHARE) {
        return bytes(data, size, max_size);
    }
    let mut s = Ops::decode(target.table(), &data[..size.min(data.len())]);
    let n = s.ops.len();
    match rng.next_u64() % 16 {
        _ if n == 0 => {
            let op = s.fresh(&mut rng);
            s.insert(0, op);
        }
        // As many deletions as insertions, so inputs do not drift to 64 operations.
        0..=2 => {
            let op = s.fresh(&mut rng);
            s.insert(below(&mut rng, n + 1), op);
        }
        3..=5 => {
            s.ops.remove(below(&mut rng, n));
        }
        6 => {
            let op = s.ops[below(&mut rng, n)];
            s.insert(below(&mut rng, n + 1), op);
        }
        7 => {
            let (i, j) = (below(&mut rng, n), below(&mut rng, n));
            s.ops.swap(i, j);
        }
        8 => {
            // Move one operation elsewhere (a reordering that keeps the set).
            let op = s.ops.remove(below(&mut rng, n));
            s.ops.insert(below(&mut rng, n), op);
        }
        9 => s.tweak_config(&mut rng),
        _ => {
            let i = below(&mut rng, n);
            s.tweak_op(&mut rng, i)
        }
    }
    let max = max_size.min(data.len());
    match s.write(&mut data[..max]) {
        Some(len) => len,
        None => bytes(data, size, max_size),
    }
}

/// libFuzzer's custom crossover: a splice of two inputs into `out` — `a`'s config and
/// operations with a run of `b`'s operations either replacing `a`'s tail or inserted
/// at a random place. Returns the size written.
pub fn crossover(target: Target, a: &[u8], b: &[u8], out: &mut [u8], seed: u32) -> usize {
    let mut rng = SplitMix64(seed as u64 ^ 0x0063_726f_7373);
    let table = target.table();
    let mut s = Ops::decode(table, a);
    let other = Ops::decode(table, b);
    let (n, m) = (s.ops.len(), other.ops.len());
    let from = below(&mut rng, m + 1);
    let run = &other.ops[from..from + below(&mut rng, m - from + 1)];
    let at = below(&mut rng, n + 1);
    if rng.next_u64() & 1 == 0 {
        s.ops.truncate(at);
    }
    let tail = s.ops.split_off(at);
    s.ops.extend_from_slice(run);
    s.ops.extend(tail);
    s.ops.truncate(MAX_OPS);
    // `b`'s operations may name VPs past `a`'s count: re-apply `vp % vps`.
    let vps = s.vps();
    for (kind, op) in &mut s.ops {
        recode(table.kinds[*kind], &mut Count(0), vps, op);
    }
    s.write(out).unwrap_or(0)
}

/// Installs [`mutate`] and [`crossover`] in a libFuzzer target binary (which depends on
/// `libfuzzer-sys`), one line in a wrapper:
/// `sintfuzz_targets::libfuzzer_mutator!(sintfuzz_targets::Target::RelayLifecycle);`
#[macro_export]
macro_rules! libfuzzer_mutator {
    ($target:expr) => {
        libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
            $crate::mutate::mutate(
                $target,
                data,
                size,
                max_size,
                seed,
                libfuzzer_sys::fuzzer_mutate,
            )
        });
        libfuzzer_sys::fuzz_crossover!(|data1: &[u8], data2: &[u8], out: &mut [u8], seed: u32| {
            $crate::mutate::crossover($target, data1, data2, out, seed)
        });
    };
}

/// The shipped libFuzzer targets' mutator ([`libfuzzer_defaults!`](crate::libfuzzer_defaults)):
/// libFuzzer's own byte mutator (`byte_mutate`, i.e. `LLVMFuzzerMutate`: one of its default
/// mutators per call, as without a custom mutator), with the output capped at
/// [`MAX_CANONICAL_LEN`] bytes, past which the decoder never reads (64 operations of at most
/// [`MAX_OP_LEN`](crate::codec::MAX_OP_LEN) bytes after the config): the default `-max_len`
/// is 4096 when the corpus is empty, and longer inputs cost more per execution for nothing.
/// An input already longer (a seed) keeps libFuzzer's `max_size`, since its mutators cannot
/// shrink below `size` in one step. An explicit `-max_len` below the cap still wins.
pub fn byte_mutate_capped(
    data: &mut [u8],
    size: usize,
    max_size: usize,
    byte_mutate: fn(&mut [u8], usize, usize) -> usize,
) -> usize {
    let max_size = if size <= MAX_CANONICAL_LEN {
        max_size.min(MAX_CANONICAL_LEN)
    } else {
        max_size
    };
    byte_mutate(data, size, max_size)
}

/// Installs [`byte_mutate_capped`] as the `LLVMFuzzerCustomMutator` of a libFuzzer target
/// binary: the mutations stay libFuzzer's own. What changes are two defaults, so that a
/// plain `cargo fuzz run <target>` searches as well as with the flags we would pass
/// (bench/results.md, "Flags, and a plain `cargo fuzz run`"): libFuzzer turns its length
/// ramp off (`-len_control=0`) when the binary has a custom mutator (`ParseFlags` in
/// libFuzzer's `FuzzerDriver.cpp`); an input is a list of operations, which the ramp
/// starves. And the cap above stands for `-max_len`. An explicit `-len_control=N` still
/// wins. One line in a wrapper: `sintfuzz_targets::libfuzzer_defaults!();`
#[macro_export]
macro_rules! libfuzzer_defaults {
    () => {
        libfuzzer_sys::fuzz_mutator!(|data: &mut [u8],
                                      size: usize,
                                      max_size: usize,
                                      _seed: u32| {
            $crate::mutate::byte_mutate_capped(data, size, max_size, libfuzzer_sys::fuzzer_mutate)
        });
    };
}
