//! Breadth-first search over operation sequences, deduplicated by a 128-bit fingerprint
//! of the canonical state ([`Machine`]'s `Hash`, fingerprinted in parts: the shared part
//! and each VP's, so a child of an operation local to one VP rehashes only that VP's).
//! States are never stored: each node keeps its parent and operation (8 bytes), and a
//! level is expanded by replaying paths from a stack of states that follows the BFS
//! order, so consecutive nodes share their prefix.
//! The last level of a bounded search is only judged: its states are never expanded, so
//! they are not fingerprinted (the fingerprint was most of the time) nor stored; only
//! their projections on each VP are, for the verdict memo (`super::memo`).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use sintfuzz_model::{Op, MAX_VPS};
use sintfuzz_targets::{Machine, NoHook, Violation};

/// One root of the search: an initial state and the operations applied to it.
pub struct Root {
    pub machine: Machine,
    pub ops: Vec<Op>,
    /// Mixed into every fingerprint, so roots that reach the same state under different
    /// operation sets (different targets) are never merged.
    pub salt: u64,
    /// The renamings that map the root state and its operations onto themselves
    /// (`super::symmetry::mirrors`: the swap of VP 0 and VP 1, the swap of two vectors
    /// of the same role, and both), each as the index in `ops` of every operation's
    /// image. From a state every operation so far left unchanged under some of them,
    /// only the least of an operation's images under those is expanded (the others'
    /// subtrees are its mirror images). At most 8.
    pub mirrors: Vec<Vec<u16>>,
    /// Partial-order reduction (`super::por`): per operation, the VP it alone touches
    /// ([`sintfuzz_model::Op::vp_local`]); `None` turns the reduction off.
    pub local: Option<Vec<Option<u8>>>,
    /// The last level's verdict memo (`super::memo`): a node skips the operations of a VP
    /// on which an earlier node of the level had the same projection.
    pub memo: bool,
}

impl Root {
    /// Whether operation `o` is expanded from a state whose path every renaming of
    /// `symmetric` (bit i: `mirrors[i]`) leaves unchanged: `o` is the least of its images.
    #[inline]
    fn expands(&self, symmetric: u8, o: usize) -> bool {
        let mut rest = symmetric;
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            if (self.mirrors[i][o] as usize) < o {
                return false;
            }
            rest &= rest - 1;
        }
        true
    }

    /// The renamings (bit i: `mirrors[i]`) under which the state after `path` is still
    /// symmetric: every operation on the path is its own image.
    pub(super) fn symmetric_after(&self, path: &[u16]) -> u8 {
        self.mirrors
            .iter()
            .enumerate()
            .filter(|(_, m)| path.iter().all(|&o| m[o as usize] == o))
            .fold(0, |mask, (i, _)| mask | 1 << i)
    }
}

/// A node: its parent's index in the previous level and the operation that led here.
#[derive(Clone, Copy)]
struct Node {
    parent: u32,
    op: u16,
}

/// Collects the bytes `Hash` writes in a fixed buffer, then fingerprints them with
/// XXH3-128 in one pass.
struct Fingerprinter {
    buf: Box<[u8; FP_BUF]>,
    len: usize,
    /// Bytes that did not fit the buffer are folded in here (never expected).
    spill: xxhash_rust::xxh3::Xxh3,
    spilled: bool,
}

const FP_BUF: usize = 64 << 10;

impl Hasher for Fingerprinter {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if end <= FP_BUF {
            self.buf[self.len..end].copy_from_slice(bytes);
            self.len = end;
        } else {
            self.spill.update(bytes);
            self.spilled = true;
        }
    }
    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.write(&[v])
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.write(&v.to_le_bytes())
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.write(&v.to_le_bytes())
    }
    /// Lengths, enum discriminants and small indices, about 70 per state: one byte below
    /// 0xff, else 0xff and the eight bytes (prefix-free, so the bytes still determine the
    /// canonical state).
    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.write_u64_compact(v as u64)
    }
    #[inline]
    fn write_isize(&mut self, v: isize) {
        self.write_u64_compact(v as u64)
    }
    fn finish(&self) -> u64 {
        unreachable!("fingerprints are 128-bit: use Fingerprinter::digest")
    }
}

impl Fingerprinter {
    #[inline]
    fn write_u64_compact(&mut self, v: u64) {
        if v < 0xff {
            self.write_u8(v as u8)
        } else {
            self.write_u8(0xff);
            self.write_u64(v)
        }
    }

    fn new() -> Self {
        Self {
            buf: Box::new([0; FP_BUF]),
            len: 0,
            spill: xxhash_rust::xxh3::Xxh3::new(),
            spilled: false,
        }
    }

    /// XXH3-128 of what `write` writes.
    #[inline]
    fn part(&mut self, write: impl FnOnce(&mut Self)) -> u128 {
        self.len = 0;
        write(self);
        let h = xxhash_rust::xxh3::xxh3_128(&self.buf[..self.len]);
        if self.spilled {
            self.spill.update(&h.to_le_bytes());
            let h = self.spill.digest128();
            self.spill.reset();
            self.spilled = false;
            return h;
        }
        h
    }

    /// The fingerprints of `m`'s parts: the shared one and each VP's.
    fn parts(&mut self, m: &Machine) -> Parts {
        let n = m.model.config.vps();
        let mut p = Parts {
            shared: self.part(|h| m.hash_shared(h)),
            vps: [0; MAX_VPS],
            n,
        };
        for v in 0..n {
            p.vps[v] = self.part(|h| m.hash_vp(v, h));
        }
        p
    }

    /// `m`'s fingerprint (`salt` mixed in).
    fn digest(&mut self, salt: u64, m: &Machine) -> u128 {
        self.parts(m).combine(salt)
    }

    /// The fingerprint of `m`, reached by an operation local to VP `w` (`Op::vp_local`)
    /// from a state whose parts are `from`: only VP `w`'s part can differ, so only it is
    /// hashed again.
    #[inline]
    fn digest_local(&mut self, salt: u64, from: &Parts, w: usize, m: &Machine) -> u128 {
        if w >= from.n {
            // Refused: nothing changed.
            return from.combine(salt);
        }
        let mut p = *from;
        p.vps[w] = self.part(|h| m.hash_vp(w, h));
        p.combine(salt)
    }
}

/// A state's fingerprint in parts ([`Machine::hash_shared`], [`Machine::hash_vp`] for its
/// `n` VPs), so a child reached by an operation local to one VP rehashes only that VP's.
#[derive(Clone, Copy)]
struct Parts {
    shared: u128,
    vps: [u128; MAX_VPS],
    n: usize,
}

impl Parts {
    /// The state's projection `w` (`super::memo`): a fingerprint of its shared part and
    /// VP `w`'s, or the shared part alone for `w` past the VPs (`Memo::SHARED`); `salt`
    /// mixed in.
    #[inline]
    fn projection(&self, salt: u64, w: usize) -> u128 {
        let mut b = [0u8; 8 + 1 + 32];
        b[..8].copy_from_slice(&salt.to_le_bytes());
        b[8] = w as u8;
        b[9..25].copy_from_slice(&self.shared.to_le_bytes());
        if let Some(vp) = self.vps[..self.n].get(w) {
            b[25..41].copy_from_slice(&vp.to_le_bytes());
        }
        xxhash_rust::xxh3::xxh3_128(&b)
    }

    /// The fingerprint: XXH3-128 of the salt and the parts' fingerprints (a function of
    /// the canonical state, which the parts' bytes determine: the shared part gives `n`).
    #[inline]
    fn combine(&self, salt: u64) -> u128 {
        let mut b = [0u8; 8 + 16 * (1 + MAX_VPS)];
        b[..8].copy_from_slice(&salt.to_le_bytes());
        b[8..24].copy_from_slice(&self.shared.to_le_bytes());
        for (v, fp) in self.vps[..self.n].iter().enumerate() {
            b[24 + 16 * v..40 + 16 * v].copy_from_slice(&fp.to_le_bytes());
        }
        xxhash_rust::xxh3::xxh3_128(&b[..24 + 16 * self.n])
    }
}

/// The fingerprints are already uniform: the set's hasher takes their low 64 bits.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u128 fingerprints are hashed")
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// What the search reports as it goes.
pub trait Observer {
    /// A violation at the end of `path` (root index, then operation indices into the
    /// root's `ops`). The state is terminal: the run ends there, as in the fuzz targets.
    /// `stats` is current (states, transitions) at the moment of the violation.
    fn violation(&mut self, root: usize, path: &[u16], v: Violation, stats: &Stats);
    /// Periodic progress (about every `interval`).
    fn progress(&mut self, stats: &Stats, level_done: usize, level_len: usize);
    /// A level finished: every sequence of `stats.depth` operations is explored.
    fn level(&mut self, stats: &Stats);
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Distinct states (fingerprints) seen, roots included.
    pub states: u64,
    /// Operations applied to expand nodes (not counting path replays).
    pub transitions: u64,
    /// Transitions that ended in a violation.
    pub violations: u64,
    /// Transitions that ended the run without one (a VTL2 assert not being checked).
    pub halted: u64,
    /// Transitions into the last level (the depth bound) that neither violated nor
    /// halted: their states are judged but not stored, so `states` does not count them.
    pub leaves: u64,
    /// Completed depth: every sequence of this many operations has been explored.
    pub depth: usize,
    /// Depth being expanded when the search stopped before its bound, if it did.
    pub incomplete: Option<usize>,
    pub elapsed: Duration,
    /// CPU time of this process (user + system) at the last update.
    pub cpu: Duration,
}

pub struct Limits {
    pub depth: usize,
    /// A budget of this process's CPU time, all threads together (on a shared machine CPU
    /// time, not wall time, is what "N minutes on 1 core" means).
    pub cpu_budget: Option<Duration>,
    pub interval: Duration,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

/// CPU time (user + system) this process has used.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage writes the struct it is given and nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Nodes one worker expands in one go: consecutive nodes share most of their path, so a
/// worker replays little of it.
const CHUNK: usize = 256;
/// Chunks expanded in parallel between two merges into the fingerprint set.
const BATCH: usize = 64;

/// A state not in the fingerprint set when the batch began: node `node` of the level,
/// then operation `op`.
struct Child {
    fp: u128,
    node: u32,
    op: u16,
}

/// A violating transition: the whole path (operation indices into the root's `ops`), and
/// where it falls among the chunk's children and transitions, so the observer sees the
/// same figures as in a sequential run.
struct Found {
    children: usize,
    transitions: u64,
    root: usize,
    path: Vec<u16>,
    v: Violation,
}

/// One chunk's expansion, in BFS order.
#[derive(Default)]
struct Expanded {
    children: Vec<Child>,
    /// On the last level: the projections ([`Parts::projection`]) whose operations this
    /// chunk judged (`super::memo`).
    judged: Vec<u128>,
    found: Vec<Found>,
    transitions: u64,
    halted: u64,
    leaves: u64,
}

/// A worker's replay stack: `stack[k]` is the state after the first k operations of
/// `cur`, on root `cur_root`. Entries past that are states of the same root kept as room
/// (the one after `stack[d]` is the scratch state a level-`d` node's operations are
/// applied to), so a state is rebuilt by copying back only what can change
/// (`super::copy::restore`), never by a whole clone.
struct Worker {
    fp: Fingerprinter,
    path: Vec<u16>,
    stack: Vec<Machine>,
    cur: Vec<u16>,
    cur_root: usize,
    /// The projections judged so far in the current chunk (`super::memo`).
    judged: Seen,
}

type Seen = HashSet<u128, BuildHasherDefault<Identity>>;

impl Worker {
    fn new() -> Self {
        Self {
            fp: Fingerprinter::new(),
            path: Vec::new(),
            stack: Vec::new(),
            cur: Vec::new(),
            cur_root: usize::MAX,
            judged: Seen::default(),
        }
    }

    /// Rebuild the state of node `i` of level `d` on the stack (`stack[d]`), from the
    /// longest prefix its path shares with the previous node's; returns its root.
    fn replay(&mut self, roots: &[Root], levels: &[Vec<Node>], d: usize, i: usize) -> usize {
        // The path to node i: walk the parents up to the root.
        self.path.clear();
        let mut idx = i;
        for l in (1..=d).rev() {
            let n = levels[l][idx];
            self.path.push(n.op);
            idx = n.parent as usize;
        }
        let root = levels[0][idx].parent as usize;
        self.path.reverse();
        let r = &roots[root];
        if root != self.cur_root {
            self.stack.clear();
            self.stack.push(r.machine.clone());
            self.cur.clear();
            self.cur_root = root;
        }
        while self.stack.len() < d + 2 {
            self.stack.push(r.machine.clone());
        }
        let common = self
            .cur
            .iter()
            .zip(&self.path)
            .take_while(|(a, b)| a == b)
            .count();
        self.cur.truncate(common);
        for (k, &o) in self.path.iter().enumerate().skip(common) {
            let (done, next) = self.stack.split_at_mut(k + 1);
            let m = &mut next[0];
            super::copy::restore(m, &done[k], super::copy::ALL_VPS);
            let v = m.step(k, &r.ops[o as usize], &mut NoHook);
            debug_assert!(v.is_none(), "a stored node replays to a violation");
            self.cur.push(o);
        }
        root
    }

    /// Expand nodes `range` of level `d`, dropping children already in `seen`. On the
    /// `last` level (the depth bound) children are only judged: their states are never
    /// expanded, so they are neither fingerprinted nor stored, and a node whose last
    /// operation is VP-local skips every operation local to another VP
    /// (`super::por::Sleep::skips_leaf`), and one with the projection of an earlier node on
    /// a VP that VP's operations (`super::memo`).
    fn expand(
        &mut self,
        roots: &[Root],
        levels: &[Vec<Node>],
        (d, last): (usize, bool),
        range: std::ops::Range<usize>,
        (seen, judged): (&Seen, &Seen),
    ) -> Expanded {
        let mut out = Expanded::default();
        self.judged.clear();
        for i in range {
            let root = self.replay(roots, levels, d, i);
            let r = &roots[root];
            let symmetric = r.symmetric_after(&self.path);
            let mut sleep = super::por::Sleep::after(r, &self.path);
            if last && d > 0 {
                sleep = sleep.unchanged(&self.stack[d - 1], &self.stack[d]);
            }
            let (done, scratch) = self.stack.split_at_mut(d + 1);
            let (state, m) = (&done[d], &mut scratch[0]);
            // The node's parts, for the children of VP-local operations (stored levels)
            // and the memo (the last level).
            let parts = (!last || r.memo).then(|| self.fp.parts(state));
            // On the last level, the VPs an earlier node with the same projection judged.
            let memo = match (last, &parts) {
                (true, Some(p)) => memo(r.salt, p, (judged, &mut self.judged), &mut out.judged),
                _ => super::memo::Memo::default(),
            };
            // What the scratch state holds beyond `state`: another node's state at first,
            // then what each operation applied to it can have written.
            let mut dirty = super::copy::ALL_VPS;
            for (o, op) in r.ops.iter().enumerate() {
                let asleep = if last {
                    sleep.skips_leaf(o) || memo.skips(op)
                } else {
                    sleep.skips(o)
                };
                if !r.expands(symmetric, o) || asleep {
                    continue;
                }
                super::copy::restore(m, state, dirty);
                dirty = super::copy::dirtied(op);
                out.transitions += 1;
                if let Some(v) = m.step(d, op, &mut NoHook) {
                    let mut path = self.path.clone();
                    path.push(o as u16);
                    out.found.push(Found {
                        children: out.children.len(),
                        transitions: out.transitions,
                        root,
                        path,
                        v,
                    });
                    continue;
                }
                if m.halted() {
                    // The VM went down (a VTL2 assert outside the checked set): the run
                    // ends here, as in the fuzz targets.
                    out.halted += 1;
                    continue;
                }
                if last {
                    out.leaves += 1;
                    continue;
                }
                let fp = match (&parts, op.vp_local()) {
                    (Some(p), Some(w)) => self.fp.digest_local(r.salt, p, usize::from(w), m),
                    _ => self.fp.digest(r.salt, m),
                };
                if !seen.contains(&fp) {
                    out.children.push(Child {
                        fp,
                        node: i as u32,
                        op: o as u16,
                    });
                }
            }
        }
        out
    }
}

/// The VPs of a last-level node with parts `p` whose operations an earlier node with
/// the same projection judged, in an earlier batch (`judged`) or earlier in its chunk
/// (`chunk`; `super::memo`). The projections new to both go to `new`.
fn memo(
    salt: u64,
    p: &Parts,
    (judged, chunk): (&Seen, &mut Seen),
    new: &mut Vec<u128>,
) -> super::memo::Memo {
    let mut memo = super::memo::Memo::default();
    for w in (0..p.n).chain([super::memo::Memo::SHARED]) {
        let key = p.projection(salt, w);
        if judged.contains(&key) || !chunk.insert(key) {
            memo.judged(w);
        } else {
            new.push(key);
        }
    }
    memo
}

/// Show a violation to the observer with the figures of that moment.
fn report(f: Found, base: u64, seen: &Seen, stats: &mut Stats, obs: &mut impl Observer) {
    stats.violations += 1;
    stats.states = seen.len() as u64;
    stats.transitions = base + f.transitions;
    obs.violation(f.root, &f.path, f.v, stats);
}

/// Merge a batch's chunks into the fingerprint set in BFS order: new states go to `next`,
/// violations to the observer with the figures of their moment.
fn merge(
    chunks: Vec<Expanded>,
    (seen, judged): (&mut Seen, &mut Seen),
    next: &mut Vec<Node>,
    stats: &mut Stats,
    obs: &mut impl Observer,
) {
    for chunk in chunks {
        let base = stats.transitions;
        judged.extend(chunk.judged);
        let mut found = chunk.found.into_iter().peekable();
        for (k, c) in chunk.children.into_iter().enumerate() {
            while let Some(f) = found.next_if(|f| f.children <= k) {
                report(f, base, seen, stats, obs);
            }
            if seen.insert(c.fp) {
                next.push(Node {
                    parent: c.node,
                    op: c.op,
                });
            }
        }
        for f in found {
            report(f, base, seen, stats, obs);
        }
        stats.transitions = base + chunk.transitions;
        stats.halted += chunk.halted;
        stats.leaves += chunk.leaves;
    }
}

/// Explore every sequence of at most `limits.depth` operations from every root, on
/// `limits.threads` threads (0: one per core). Each level is expanded in batches: the
/// nodes of a batch are expanded in parallel against the fingerprint set as it was when
/// the batch began, then merged into it in BFS order, so the states kept, the figures and
/// every observer call are the same whatever the number of threads.
pub fn search(
    roots: &[Root],
    limits: &Limits,
    obs: &mut impl Observer,
) -> Result<Stats, rayon::ThreadPoolBuildError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(limits.threads)
        .build()?;
    Ok(search_levels(&pool, roots, limits, obs))
}

fn search_levels(
    pool: &rayon::ThreadPool,
    roots: &[Root],
    limits: &Limits,
    obs: &mut impl Observer,
) -> Stats {
    use rayon::prelude::*;
    let start = Instant::now();
    let cpu0 = cpu_time();
    let mut stats = Stats::default();
    let mut fp = Fingerprinter::new();
    let mut seen = Seen::default();
    let mut judged = Seen::default();
    let mut levels: Vec<Vec<Node>> = vec![Vec::new()];
    for (i, r) in roots.iter().enumerate() {
        if seen.insert(fp.digest(r.salt, &r.machine)) {
            levels[0].push(Node {
                parent: i as u32,
                op: u16::MAX,
            });
        }
    }
    stats.states = seen.len() as u64;
    let mut last_progress = Instant::now();
    'levels: for d in 0..limits.depth {
        let mut next = Vec::new();
        let last = d + 1 == limits.depth;
        let len = levels[d].len();
        let mut begin = 0;
        while begin < len {
            let end = len.min(begin + CHUNK * BATCH);
            let chunks: Vec<Expanded> = pool.install(|| {
                (begin..end)
                    .step_by(CHUNK)
                    .collect::<Vec<_>>()
                    .into_par_iter()
                    .map_init(Worker::new, |w, c| {
                        w.expand(
                            roots,
                            &levels,
                            (d, last),
                            c..end.min(c + CHUNK),
                            (&seen, &judged),
                        )
                    })
                    .collect()
            });
            merge(chunks, (&mut seen, &mut judged), &mut next, &mut stats, obs);
            begin = end;
            if last_progress.elapsed() >= limits.interval {
                last_progress = Instant::now();
                stats.states = seen.len() as u64;
                stats.elapsed = start.elapsed();
                stats.cpu = cpu_time().saturating_sub(cpu0);
                obs.progress(&stats, begin, len);
                if limits.cpu_budget.is_some_and(|b| stats.cpu >= b) && begin < len {
                    stats.incomplete = Some(d + 1);
                    break 'levels;
                }
            }
        }
        stats.depth = d + 1;
        stats.states = seen.len() as u64;
        stats.elapsed = start.elapsed();
        stats.cpu = cpu_time().saturating_sub(cpu0);
        obs.level(&stats);
        let done = next.is_empty();
        levels.push(next);
        if done {
            break;
        }
    }
    stats.states = seen.len() as u64;
    stats.elapsed = start.elapsed();
    stats.cpu = cpu_time().saturating_sub(cpu0);
    stats
}

/// Peak resident memory of this process in KiB (`VmHWM`), if the kernel reports it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use sintfuzz_model::Revision;
    use sintfuzz_targets::NoHook;

    use super::*;
    use crate::check::domain::{configs, ConfigFilter};
    use crate::check::testing::{canonical, chooser, raises_a_flag, starts, walk_on};

    /// The fingerprint's compact encoding (lengths and discriminants in one byte) keeps
    /// it a function of the canonical state that tells states apart exactly as their
    /// canonical bytes (`Hash` with eight-byte lengths) do: on random walks of every
    /// config and revision, equal bytes give equal fingerprints and unequal ones unequal.
    #[test]
    fn fingerprints_separate_exactly_the_states_the_canonical_bytes_separate() {
        let mut rand = chooser(0x9e37_79b9_7f4a_7c15);
        let mut fp = Fingerprinter::new();
        let mut by_bytes: HashMap<Vec<u8>, u128> = HashMap::new();
        let mut by_fp: HashMap<u128, Vec<u8>> = HashMap::new();
        let mut repeats = 0;
        for c in configs(2, &ConfigFilter::default()) {
            for (_, start, all) in starts(&c, &Revision::ALL) {
                for _ in 0..4 {
                    let mut m = start.clone();
                    for k in 0..6 {
                        let bytes = canonical(&m);
                        let f = fp.digest(7, &m);
                        repeats += usize::from(by_bytes.contains_key(&bytes));
                        assert_eq!(*by_bytes.entry(bytes.clone()).or_insert(f), f);
                        assert!(*by_fp.entry(f).or_insert(bytes.clone()) == bytes);
                        walk_on(&mut m, k, &all, &mut rand);
                    }
                }
            }
        }
        // Both directions were exercised: many distinct states, and states met again.
        assert!(by_bytes.len() > 5000, "{}", by_bytes.len());
        assert!(repeats > 1000, "{repeats}");
    }

    /// An operation local to one VP changes no part of the canonical state but that VP's
    /// (model and oracle: its record, raised flags, expectations), so the fingerprint the
    /// search computes from the node's parts is the state's own: on random walks of every
    /// config and revision, every VP-local operation from each state, against a full
    /// fingerprint of the result.
    #[test]
    fn a_vp_local_operation_changes_only_its_vps_part_of_the_fingerprint() {
        let mut rand = chooser(0x6a09_e667_f3bc_c908);
        let mut fp = Fingerprinter::new();
        let (mut checked, mut changed) = (0, 0);
        for c in configs(2, &ConfigFilter::default()) {
            for (r, mut m, all) in starts(&c, &Revision::ALL) {
                let (local, shared): (Vec<Op>, Vec<Op>) =
                    all.iter().partition(|o| o.vp_local().is_some());
                // Raised flags and expectations, which local operations clear or settle:
                // set up a signalled channel, then walk on shared operations half the time.
                for (k, o) in all.iter().filter(|o| raises_a_flag(o)).enumerate() {
                    walk_on(&mut m, k, std::slice::from_ref(o), &mut rand);
                }
                for k in 0..12 {
                    let parts = fp.parts(&m);
                    let before = parts.combine(3);
                    for _ in 0..8 {
                        let op = &local[rand(local.len())];
                        let mut next = m.clone();
                        if next.step(k, op, &mut NoHook).is_some() || next.halted() {
                            continue;
                        }
                        let w = usize::from(op.vp_local().unwrap());
                        let full = fp.digest(3, &next);
                        assert_eq!(
                            fp.digest_local(3, &parts, w, &next),
                            full,
                            "{c:?} {r} {op:?}"
                        );
                        checked += 1;
                        changed += usize::from(full != before);
                    }
                    walk_on(&mut m, k, [&all, &shared][rand(2)], &mut rand);
                }
            }
        }
        assert!(checked > 5000 && changed > 2000, "{checked} {changed}");
    }
}
