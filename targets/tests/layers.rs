//! The modules of `targets/src/` call only modules of their own layer or below, with no
//! circle (`src/lib.rs` lists the layers, `docs/architecture.md` draws them). Read from
//! the source (`modgraph`): every `crate::<module>` outside comments and `#[cfg(test)]`
//! code is an arrow.

mod modgraph;

use std::path::Path;

use modgraph::{arrows, circle, code, crate_paths};

/// Bottom first. A new module must be placed here.
const LAYERS: &[&[&str]] = &[
    &["codec", "invariant", "env", "rng"],
    &[
        "target",
        "oracle",
        "oracle::check",
        "oracle::symmetry",
        "scenarios",
        "mutate",
    ],
    &["harness"],
    &["feedback", "trace", "signature", "known", "files"],
    &["engine"],
];

fn src() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

#[test]
fn every_module_calls_only_its_own_layer_or_below() {
    let graph = arrows(&src());
    assert!(graph.len() >= 15, "read only {} modules", graph.len());
    let mut wrong = Vec::new();
    for (from, tos) in graph.iter().filter(|(m, _)| *m != "lib") {
        let Some(lf) = layer(from) else {
            wrong.push(format!("{from}: not placed in LAYERS"));
            continue;
        };
        for to in tos {
            match layer(to) {
                // A crate-root re-export (`crate::fuzz_with`) hides which layer is called.
                None => wrong.push(format!("{from} -> crate::{to}: name the module")),
                Some(lt) if lt > lf => wrong.push(format!("{from} -> {to}: calls upward")),
                _ => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn no_module_is_part_of_a_circle() {
    let c = circle(&arrows(&src()));
    assert!(c.is_none(), "import circle: {}", c.unwrap().join(" -> "));
}

#[test]
fn the_reader_sees_both_forms_and_skips_comments_and_tests() {
    let text = "use crate::a::X;\n// crate::b\nuse crate::{c, d::Y};\nfn f() { crate::e::g() }\n#[cfg(test)]\nuse crate::h;";
    assert_eq!(crate_paths(&code(text)), ["a::X", "c", "d::Y", "e::g"]);
}

#[test]
fn the_circle_finder_finds_one() {
    let g = |edges: &[(&str, &str)]| {
        let mut g = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    assert_eq!(circle(&g(&[("a", "b"), ("b", "c")])), None);
    let c = circle(&g(&[("a", "b"), ("b", "c"), ("c", "b")])).unwrap();
    assert_eq!(c, ["b", "c", "b"]);
}
