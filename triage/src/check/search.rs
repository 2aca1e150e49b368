//! Breadth-first search over operation sequences, deduplicated by a 128-bit fingerprint
//! of the canonical state ([`Machine`]'s `Hash`). States are never stored: each node keeps
//! its parent and operation (8 bytes), and a level is expanded by replaying paths from a
//! stack of states that follows the BFS order, so consecutive nodes share their prefix.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::time::{Duration, Instant};

use sintfuzz_model::Op;
use sintfuzz_targets::{Machine, NoHook, Violation};

/// One root of the search: an initial state and the operations applied to it.
pub struct Root {
    pub machine: Machine,
    pub ops: Vec<Op>,
    /// Mixed into every fingerprint, so roots that reach the same state under different
    /// operation sets (different targets) are never merged.
    pub salt: u64,
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
    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.write(&(v as u64).to_le_bytes())
    }
    #[inline]
    fn write_isize(&mut self, v: isize) {
        self.write(&(v as u64).to_le_bytes())
    }
    fn finish(&self) -> u64 {
        unreachable!("fingerprints are 128-bit: use Fingerprinter::digest")
    }
}

impl Fingerprinter {
    fn new() -> Self {
        Self {
            buf: Box::new([0; FP_BUF]),
            len: 0,
            spill: xxhash_rust::xxh3::Xxh3::new(),
            spilled: false,
        }
    }

    fn digest(&mut self, salt: u64, m: &Machine) -> u128 {
        self.len = 0;
        salt.hash(self);
        m.hash(self);
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
    /// A budget of this process's CPU time (the search runs on one core, so on a shared
    /// machine CPU time, not wall time, is what "N minutes on 1 core" means).
    pub cpu_budget: Option<Duration>,
    pub interval: Duration,
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

/// Explore every sequence of at most `limits.depth` operations from every root.
pub fn search(roots: &[Root], limits: &Limits, obs: &mut impl Observer) -> Stats {
    let start = Instant::now();
    let cpu0 = cpu_time();
    let mut stats = Stats::default();
    let mut fp = Fingerprinter::new();
    let mut seen: HashSet<u128, BuildHasherDefault<Identity>> = HashSet::default();
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
    let mut path: Vec<u16> = Vec::new();
    // `stack[k]` is the state after the first k operations of `cur`, on root `cur_root`.
    let mut stack: Vec<Machine> = Vec::new();
    let mut cur: Vec<u16> = Vec::new();
    let mut cur_root = usize::MAX;
    'levels: for d in 0..limits.depth {
        let mut next = Vec::new();
        let level = &levels[d];
        for (i, _) in level.iter().enumerate() {
            // The path to node i: walk the parents up to the root.
            path.clear();
            let mut idx = i;
            for l in (1..=d).rev() {
                let n = levels[l][idx];
                path.push(n.op);
                idx = n.parent as usize;
            }
            let root = levels[0][idx].parent as usize;
            path.reverse();
            // Rebuild the state from the longest prefix shared with the previous node.
            if root != cur_root {
                stack.clear();
                stack.push(roots[root].machine.clone());
                cur.clear();
                cur_root = root;
            }
            let common = cur.iter().zip(&path).take_while(|(a, b)| a == b).count();
            stack.truncate(common + 1);
            cur.truncate(common);
            let ops = &roots[root].ops;
            for (k, &o) in path.iter().enumerate().skip(common) {
                let mut m = stack[k].clone();
                let v = m.step(k, &ops[o as usize], &mut NoHook);
                debug_assert!(v.is_none(), "a stored node replays to a violation");
                stack.push(m);
                cur.push(o);
            }
            let state = &stack[d];
            for (o, op) in ops.iter().enumerate() {
                let mut m = state.clone();
                stats.transitions += 1;
                if let Some(v) = m.step(d, op, &mut NoHook) {
                    stats.violations += 1;
                    stats.states = seen.len() as u64;
                    path.push(o as u16);
                    obs.violation(root, &path, v, &stats);
                    path.pop();
                    continue;
                }
                if m.halted() {
                    // The VM went down (a VTL2 assert outside the checked set): the run
                    // ends here, as in the fuzz targets.
                    stats.halted += 1;
                    continue;
                }
                if seen.insert(fp.digest(roots[root].salt, &m)) {
                    next.push(Node {
                        parent: i as u32,
                        op: o as u16,
                    });
                }
            }
            if i % 64 == 0 && last_progress.elapsed() >= limits.interval {
                last_progress = Instant::now();
                stats.states = seen.len() as u64;
                stats.elapsed = start.elapsed();
                stats.cpu = cpu_time().saturating_sub(cpu0);
                obs.progress(&stats, i, level.len());
                if limits.cpu_budget.is_some_and(|b| stats.cpu >= b) {
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
