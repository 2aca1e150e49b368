//! Replays every checked-in input: the curated seeds in `corpus/<target>/` must be clean
//! on every revision, and each regression in `triage/regressions/<target>/` must give
//! exactly the outcomes its sidecar records, and every sidecar what the hand-written
//! `triage/regressions/EXPECTED.md` says. `SINTFUZZ_BLESS=1` rewrites the seeds and prints
//! the diff of every witness regression that would change; `SINTFUZZ_BLESS=name,...`
//! re-records those witnesses.

use std::collections::BTreeMap;
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

/// `SINTFUZZ_BLESS` rewrites the seeds; a witness regression whose outcomes changed is
/// re-recorded only if named (`SINTFUZZ_BLESS=name1,name2`); every other change is printed
/// as a diff and nothing is written.
fn bless() {
    if let Some(v) = std::env::var_os("SINTFUZZ_BLESS") {
        let v = v.to_string_lossy().into_owned();
        let names: Vec<&str> = v.split(',').map(str::trim).collect();
        write_seeds(&root()).unwrap();
        for r in write_witnesses(&root(), &|n| names.contains(&n)).unwrap() {
            if let Err(diff) = r {
                eprintln!("{diff}");
            }
        }
    }
}

/// `triage/regressions/EXPECTED.md`: (file, set) -> revision -> outcome.
fn expected_table() -> BTreeMap<(String, String), BTreeMap<String, String>> {
    let text = std::fs::read_to_string(root().join("triage/regressions/EXPECTED.md")).unwrap();
    let mut rows = BTreeMap::new();
    let mut header: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        if cells[0] == "regression" {
            header = cells;
            continue;
        }
        if cells[0].starts_with("---") {
            continue;
        }
        assert_eq!(cells.len(), header.len(), "{line}");
        assert!(
            !cells.last().unwrap().is_empty() && !cells.last().unwrap().contains(' '),
            "{line}: the reason is one word"
        );
        let outcomes: BTreeMap<String, String> = header[2..header.len() - 1]
            .iter()
            .cloned()
            .zip(cells[2..cells.len() - 1].iter().cloned())
            .collect();
        let prev = rows.insert((cells[0].clone(), cells[1].clone()), outcomes);
        assert!(prev.is_none(), "{line}: twice");
    }
    rows
}

#[test]
fn sidecars_match_the_hand_written_table() {
    let table = expected_table();
    let mut seen = 0;
    for target in Target::ALL {
        for file in list(&root().join(REGRESSIONS_DIR), target, "bin").unwrap() {
            let stem = file.file_stem().unwrap().to_str().unwrap();
            let key = format!("{}/{stem}", target.name());
            let sidecar =
                Sidecar::parse(&std::fs::read_to_string(file.with_extension("toml")).unwrap())
                    .unwrap();
            for (set, recorded) in [("default", &sidecar.default), ("strict", &sidecar.strict)] {
                let row = table
                    .get(&(key.clone(), set.to_string()))
                    .unwrap_or_else(|| panic!("{key} [{set}] has no row in EXPECTED.md"));
                assert_eq!(
                    recorded, row,
                    "{key} [{set}]: the sidecar disagrees with EXPECTED.md"
                );
                seen += 1;
            }
        }
    }
    assert_eq!(
        seen,
        table.len(),
        "EXPECTED.md has rows for files that do not exist"
    );
}

#[test]
fn re_recording_changes_nothing_unless_asked_by_name() {
    let tmp = std::env::temp_dir().join(format!("sintfuzz-bless-{}", std::process::id()));
    let w = &sintfuzz_targets::scenarios::witnesses()[0];
    let bytes = sintfuzz_targets::encode(w.target, &w.scenario).unwrap();
    let dir = tmp.join(REGRESSIONS_DIR).join(w.target.name());
    std::fs::create_dir_all(&dir).unwrap();
    // A sidecar whose recorded outcome is wrong for head.
    let mut stale = Sidecar::measure(w.name, w.target, w.about, w.finding, &bytes);
    stale.default.insert("head".into(), "lost-relay".into());
    let toml = dir.join(format!("{}.toml", w.name));
    std::fs::write(dir.join(format!("{}.bin", w.name)), &bytes).unwrap();
    std::fs::write(&toml, stale.to_toml()).unwrap();
    let results = write_witnesses(&tmp, &|_| false).unwrap();
    let diff = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("a diff for the stale sidecar");
    assert!(diff.contains("[default] head: lost-relay -> "), "{diff}");
    assert_eq!(std::fs::read_to_string(&toml).unwrap(), stale.to_toml());
    // Named: re-recorded.
    write_witnesses(&tmp, &|n| n == w.name).unwrap();
    assert_ne!(std::fs::read_to_string(&toml).unwrap(), stale.to_toml());
    std::fs::remove_dir_all(&tmp).ok();
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
