//! Which engines run when: `--engine`'s choice, the cores each engine gets when engines
//! run side by side, and the phases they take turns in when the cores are fewer.

use clap::ValueEnum;
use serde::Serialize;

use super::Engine;

/// `--engine`: one engine, or all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    Libfuzzer,
    Afl,
    Honggfuzz,
    All,
}

impl EngineChoice {
    pub fn name(self) -> &'static str {
        match self {
            EngineChoice::Libfuzzer => "libfuzzer",
            EngineChoice::Afl => "afl",
            EngineChoice::Honggfuzz => "honggfuzz",
            EngineChoice::All => "all",
        }
    }

    pub fn engines(self) -> Vec<Engine> {
        match self {
            EngineChoice::Libfuzzer => vec![Engine::Libfuzzer],
            EngineChoice::Afl => vec![Engine::Afl],
            EngineChoice::Honggfuzz => vec![Engine::Honggfuzz],
            EngineChoice::All => Engine::ALL.to_vec(),
        }
    }
}

/// Cores per engine when engines run side by side: one each in order, then the rest to
/// AFL++ and honggfuzz (secondary instances, threads) before libFuzzer (fork mode, much
/// slower per core than in-process). Engines left with none do not run.
pub fn share_jobs(engines: &[Engine], jobs: u32) -> Vec<(Engine, u32)> {
    let mut v: Vec<(Engine, u32)> = engines.iter().map(|&e| (e, 0)).collect();
    let mut left = jobs;
    for slot in v.iter_mut() {
        if left == 0 {
            break;
        }
        slot.1 = 1;
        left -= 1;
    }
    let extra: Vec<usize> = (0..v.len())
        .filter(|&i| v[i].0 != Engine::Libfuzzer)
        .chain((0..v.len()).filter(|&i| v[i].0 == Engine::Libfuzzer))
        .collect();
    let mut k = 0;
    while left > 0 && !extra.is_empty() {
        v[extra[k % extra.len()]].1 += 1;
        left -= 1;
        k += 1;
    }
    v
}

/// The phases of engines side by side within `jobs` cores: one phase of every engine
/// ([`share_jobs`]) when there are cores enough, else as many phases as engines, each
/// `jobs` engines at once on a core each, in rotation (with 2 cores and 3 engines:
/// libFuzzer + AFL++, AFL++ + honggfuzz, honggfuzz + libFuzzer), so every engine runs
/// for the same share and each phase starts from what the others left in the corpus.
pub fn schedule(engines: &[Engine], jobs: u32) -> Vec<Vec<(Engine, u32)>> {
    let n = engines.len();
    if jobs as usize >= n {
        return vec![share_jobs(engines, jobs)];
    }
    (0..n)
        .map(|k| {
            (0..jobs as usize)
                .map(|i| (engines[(k + i) % n], 1))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_shared_out() {
        use Engine::*;
        assert_eq!(
            share_jobs(&Engine::ALL, 2),
            vec![(Libfuzzer, 1), (Afl, 1), (Honggfuzz, 0)]
        );
        assert_eq!(
            share_jobs(&Engine::ALL, 3),
            vec![(Libfuzzer, 1), (Afl, 1), (Honggfuzz, 1)]
        );
        assert_eq!(
            share_jobs(&Engine::ALL, 5),
            vec![(Libfuzzer, 1), (Afl, 2), (Honggfuzz, 2)]
        );
    }

    #[test]
    fn fewer_cores_than_engines_take_turns() {
        use Engine::*;
        // Every engine runs, in as many phases as it has cores' worth of turns.
        assert_eq!(
            schedule(&Engine::ALL, 2),
            vec![
                vec![(Libfuzzer, 1), (Afl, 1)],
                vec![(Afl, 1), (Honggfuzz, 1)],
                vec![(Honggfuzz, 1), (Libfuzzer, 1)],
            ]
        );
        assert_eq!(
            schedule(&Engine::ALL, 3),
            vec![vec![(Libfuzzer, 1), (Afl, 1), (Honggfuzz, 1)]]
        );
        assert_eq!(
            schedule(&Engine::ALL, 4),
            vec![vec![(Libfuzzer, 1), (Afl, 2), (Honggfuzz, 1)]]
        );
    }
}
