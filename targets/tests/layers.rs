//! The modules of `targets/src/` call only modules of their own layer or below, with no
//! circle (`src/lib.rs` lists the layers, `docs/architecture.md` draws them). Read from
//! the source: every `crate::<module>` outside comments and `#[cfg(test)]` code is an
//! arrow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bottom first. A new module must be placed here.
const LAYERS: &[&[&str]] = &[
    &["codec", "invariant", "env", "rng"],
    &["target", "oracle", "scenarios", "mutate"],
    &["harness"],
    &["feedback", "trace", "signature", "known", "files"],
    &["engine"],
];

/// The production code of a file: no `#[cfg(test)]` tail, no comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The names after each `crate::` (both `crate::a::b` and `crate::{a, b::c}`).
fn crate_refs(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let heads: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())]
                .split(',')
                .map(|p| p.trim().split("::").next().unwrap_or(""))
                .collect(),
            None => vec![rest
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .next()
                .unwrap_or("")],
        };
        out.extend(
            heads
                .into_iter()
                .filter(|h| !h.is_empty())
                .map(str::to_string),
        );
    }
    out
}

/// Module → the modules it names.
fn arrows() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        if name == "lib" || path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let refs: BTreeSet<String> = crate_refs(&code(&text))
            .into_iter()
            .filter(|r| *r != name)
            .collect();
        graph.insert(name, refs);
    }
    graph
}

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

#[test]
fn every_module_calls_only_its_own_layer_or_below() {
    let graph = arrows();
    assert!(graph.len() >= 15, "read only {} modules", graph.len());
    let mut wrong = Vec::new();
    for (from, tos) in &graph {
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
    let graph = arrows();
    // Depth-first search; a module met again while still on the path closes a circle.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| *p == m) {
            let mut circle: Vec<String> = path[i..].iter().map(|s| s.to_string()).collect();
            circle.push(m.to_string());
            return Some(circle);
        }
        if !done.insert(m) {
            return None;
        }
        path.push(m);
        for to in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(to, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        let circle = visit(m, &graph, &mut Vec::new(), &mut done);
        assert!(
            circle.is_none(),
            "import circle: {}",
            circle.unwrap().join(" -> ")
        );
    }
}

#[test]
fn the_reader_sees_both_forms_and_skips_comments_and_tests() {
    let text = "use crate::a::X;\n// crate::b\nuse crate::{c, d::Y};\nfn f() { crate::e::g() }\n#[cfg(test)]\nuse crate::h;";
    assert_eq!(crate_refs(&code(text)), ["a", "c", "d", "e"]);
}
