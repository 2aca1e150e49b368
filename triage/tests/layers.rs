//! `triage/src/` is arranged by capability and its folders call only downward (the
//! arrows `src/lib.rs` draws and each folder's `mod.rs` states), with no import circle
//! between any two modules. Read from the source by `targets/tests/modgraph`.

#[path = "../../targets/tests/modgraph/mod.rs"]
mod modgraph;

use std::collections::BTreeMap;
use std::path::Path;

use modgraph::{arrows, circle};

/// Each folder and what it may call (besides the crate root's shared items, `lib`).
const MAY_CALL: &[(&str, &[&str])] = &[
    ("campaign", &["findings", "engine"]),
    ("bench", &["findings", "engine"]),
    ("check", &["findings", "engine"]),
    ("findings", &["engine"]),
    ("engine", &[]),
];

/// Shared by every folder, like the crate root's own items: the paths and arguments the
/// user gives, and model panics caught quietly.
const SHARED: &[&str] = &["lib", "paths", "args", "panics"];

fn graph() -> BTreeMap<String, std::collections::BTreeSet<String>> {
    arrows(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

fn folder(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

#[test]
fn each_folder_calls_only_downward() {
    let graph = graph();
    assert!(graph.contains_key("findings::bucket"), "{:?}", graph.keys());
    let mut wrong = Vec::new();
    for (from, tos) in &graph {
        let f = folder(from);
        // The roots: the library declares the folders, the binary dispatches to them.
        if matches!(f, "lib" | "main" | "cli") || SHARED.contains(&f) {
            continue;
        }
        let Some((_, may)) = MAY_CALL.iter().find(|(name, _)| *name == f) else {
            wrong.push(format!("{from}: folder '{f}' is not in MAY_CALL"));
            continue;
        };
        for to in tos {
            let t = folder(to);
            if t != f && !SHARED.contains(&t) && !may.contains(&t) {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "arrows that do not point down: {wrong:#?}"
    );
}

#[test]
fn no_module_is_part_of_a_circle() {
    let c = circle(&graph());
    assert!(c.is_none(), "import circle: {}", c.unwrap().join(" -> "));
}

#[test]
fn triage_does_not_depend_on_the_benchmarks() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    assert!(manifest.contains("[dependencies]"), "{manifest}");
    assert!(
        !manifest.contains("../bench"),
        "triage depends on bench/: {manifest}"
    );
}
