//! The same search as `sintfuzz check` (its domain, `Machine::step`, the canonical
//! `Hash`) through stateright's BFS checker, to compare CPU time and memory with the plain
//! BFS that `sintfuzz check` uses (`bench/results.md`, "Exhaustive check").
//!
//! ```text
//! cargo run --release -- DEPTH CONFIG   # e.g. 4 isolation=snp,relay=on,vtl1=off,...
//! ```
use std::hash::{Hash, Hasher};
use std::time::Instant;

use sintfuzz_model::{Config, Op};
use sintfuzz_targets::{InvariantSet, Machine, NoHook, Settings, Target};
use sintfuzz_triage::check::domain::{self, ConfigFilter, Size};
use stateright::{Checker, Model, Property};

#[derive(Clone)]
struct S {
    m: Machine,
    depth: usize,
    bad: bool,
}
impl std::fmt::Debug for S {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "state at depth {}", self.depth)
    }
}
impl Hash for S {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.m.hash(h);
        self.bad.hash(h);
    }
}
impl PartialEq for S {
    fn eq(&self, o: &Self) -> bool {
        let f = |s: &S| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            s.hash(&mut h);
            h.finish()
        };
        f(self) == f(o)
    }
}
impl Eq for S {}

struct M {
    roots: Vec<(Config, Vec<Op>)>,
    settings: Settings,
}

impl Model for M {
    type State = S;
    type Action = (usize, u16);
    fn init_states(&self) -> Vec<S> {
        self.roots
            .iter()
            .map(|(c, _)| S {
                m: Machine::new(*c, &self.settings),
                depth: 0,
                bad: false,
            })
            .collect()
    }
    fn actions(&self, s: &S, out: &mut Vec<(usize, u16)>) {
        if s.bad || s.m.halted() {
            return;
        }
        let r = self
            .roots
            .iter()
            .position(|(c, _)| *c == s.m.model.config)
            .unwrap();
        for i in 0..self.roots[r].1.len() {
            out.push((r, i as u16));
        }
    }
    fn next_state(&self, s: &S, (r, i): (usize, u16)) -> Option<S> {
        let mut n = s.clone();
        n.bad =
            n.m.step(s.depth, &self.roots[r].1[i as usize], &mut NoHook)
                .is_some();
        n.depth += 1;
        Some(n)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::always("clean", |_, s: &S| !s.bad)]
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(depth), Some(filter)) = (
        args.get(1).and_then(|d| d.parse::<usize>().ok()),
        args.get(2).and_then(|f| ConfigFilter::parse(f).ok()),
    ) else {
        eprintln!("usage: check-stateright DEPTH CONFIG");
        std::process::exit(2);
    };
    let settings = Settings {
        revision: "proposed".parse().unwrap(),
        invariants: InvariantSet::strict(),
    };
    let roots = domain::configs(2, &filter)
        .into_iter()
        .map(|c| (c, domain::ops(Target::AllOps, &c, Size::Small)))
        .collect();
    let t = Instant::now();
    let c = M { roots, settings }
        .checker()
        .threads(1)
        .target_max_depth(depth + 1)
        .spawn_bfs()
        .join();
    let secs = t.elapsed().as_secs_f64();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap()
        .to_string();
    println!(
        "stateright depth {depth}: {} unique states, {} states generated, {:.1} s, {:.0} unique states/s, {hwm}, discoveries {}",
        c.unique_state_count(),
        c.state_count(),
        secs,
        c.unique_state_count() as f64 / secs,
        c.discoveries().len()
    );
}
