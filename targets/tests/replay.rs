//! Replays every checked-in input: the curated seeds in `corpus/<target>/` must be clean
//! on every revision, and each regression in `triage/regressions/<target>/` must give
//! exactly the outcomes its sidecar records. `SINTFUZZ_BLESS=1` rewrites the seeds and the
//! witness regressions first (what `sintfuzz seed --regressions` does).

use std::path::{Path, PathBuf};

use sintfuzz_model::Revision;
use sintfuzz_targets::files::{
    list, outcome_name, read_input, write_seeds, write_witnesses, Sidecar, CORPUS_DIR,
    REGRESSIONS_DIR,
};
use sintfuzz_targets::{InvariantSet, Settings, Target};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn bless() {
    if std::env::var_os("SINTFUZZ_BLESS").is_some() {
        write_seeds(&root()).unwrap();
        write_witnesses(&root()).unwrap();
    }
}

#[test]
fn corpus_seeds_are_clean_and_in_sync() {
    bless();
    let mut n = 0;
    for target in Target::ALL {
        for file in list(&root().join(CORPUS_DIR), target, "bin").unwrap() {
            let data = read_input(&file).unwrap();
            for revision in Revision::ALL {
                let s = Settings {
                    revision,
                    invariants: InvariantSet::default_set(),
                };
                assert_eq!(
                    outcome_name(target, &data, &s),
                    "clean",
                    "{} on {revision}",
                    file.display()
                );
            }
            let strict = Settings {
                revision: Revision::Proposed,
                invariants: InvariantSet::strict(),
            };
            assert_eq!(
                outcome_name(target, &data, &strict),
                "clean",
                "{}",
                file.display()
            );
            n += 1;
        }
    }
    // The checked-in corpus is exactly what the seed scenarios encode to.
    let tmp = std::env::temp_dir().join(format!("sintfuzz-seed-{}", std::process::id()));
    let written = write_seeds(&tmp).unwrap();
    for (path, _) in &written {
        let rel = path.strip_prefix(&tmp).unwrap();
        assert_eq!(
            std::fs::read(root().join(rel)).ok(),
            std::fs::read(path).ok(),
            "{} is stale: run `sintfuzz seed`",
            rel.display()
        );
    }
    std::fs::remove_dir_all(&tmp).ok();
    assert_eq!(n, written.len(), "corpus/ holds files that are not seeds");
    assert!(n >= 24);
}

#[test]
fn regressions_give_their_recorded_outcomes() {
    bless();
    let mut n = 0;
    for target in Target::ALL {
        let dir = root().join(REGRESSIONS_DIR);
        for file in list(&dir, target, "bin").unwrap() {
            let sidecar_path = file.with_extension("toml");
            let text = std::fs::read_to_string(&sidecar_path)
                .unwrap_or_else(|e| panic!("{}: {e}", sidecar_path.display()));
            let recorded =
                Sidecar::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", sidecar_path.display()));
            assert_eq!(recorded.target, target.name(), "{}", file.display());
            let data = read_input(&file).unwrap();
            let measured = Sidecar::measure(
                &recorded.name,
                target,
                &recorded.about,
                &recorded.finding,
                &data,
            );
            assert_eq!(
                measured,
                recorded,
                "{} no longer gives its recorded outcomes; reproduce with `sintfuzz repro --target {} --revision <R> [--invariants strict] {}`",
                file.display(),
                target,
                file.display()
            );
            n += 1;
        }
    }
    assert!(n >= 14, "only {n} regression files");
}
