//! A crate's module graph read from its source, for the layer tests
//! (`targets/tests/layers.rs`, and `triage/tests/layers.rs` through `#[path]`): every
//! `crate::<path>` outside comments and `#[cfg(test)]` code is an arrow to the longest
//! module that path starts with (`lib` for the crate root's own items).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The production code of a file: no `#[cfg(test)]` tail, no comments.
pub fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths after each `crate::` (`crate::a::b::C` gives `a::b::C`; `crate::{a, b::c}`
/// gives `a` and `b::c`).
pub fn crate_paths(code: &str) -> Vec<String> {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => out.extend(
                group[..group.find('}').unwrap_or(group.len())]
                    .split(',')
                    .map(|p| p.trim().trim_end_matches("::").to_string()),
            ),
            None => out.push(
                rest[..rest.find(|c| !word(c)).unwrap_or(rest.len())]
                    .trim_end_matches("::")
                    .to_string(),
            ),
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// Every module of the crate under `src` by path (`a::b` for `src/a/b.rs` or
/// `src/a/b/mod.rs`; `lib` and `main` for the roots), with its production code.
pub fn modules(src: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
            if path.is_dir() {
                walk(&path, &format!("{prefix}{stem}::"), out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = match stem.as_str() {
                    "mod" => prefix.trim_end_matches("::").to_string(),
                    _ => format!("{prefix}{stem}"),
                };
                out.insert(name, code(&std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, "", &mut out);
    out
}

/// Module → the modules it names (never itself, its own submodules or its parents).
pub fn arrows(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(src);
    let mut graph = BTreeMap::new();
    for (name, code) in &modules {
        let mut to = BTreeSet::new();
        for path in crate_paths(code) {
            let segs: Vec<&str> = path.split("::").collect();
            let target = (1..=segs.len())
                .rev()
                .map(|k| segs[..k].join("::"))
                .find(|m| modules.contains_key(m))
                .unwrap_or_else(|| "lib".to_string());
            let related = |a: &str, b: &str| a.starts_with(&format!("{b}::"));
            if target != *name && !related(&target, name) && !related(name, &target) {
                to.insert(target);
            }
        }
        graph.insert(name.clone(), to);
    }
    graph
}

/// A circle of the graph, if there is one (depth first: a module met again while still on
/// the path closes it).
pub fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| *p == m) {
            let mut c: Vec<String> = path[i..].iter().map(|s| s.to_string()).collect();
            c.push(m.to_string());
            return Some(c);
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
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}
