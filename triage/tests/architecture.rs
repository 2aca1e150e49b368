//! `docs/architecture.md` stays true to the tree: every repository path it names (in
//! backticks, or as a link) exists, and it names every top-level folder.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::root;

const DOC: &str = "docs/architecture.md";

/// The repository paths a Markdown text names: backticked spans with a `/` (no spaces,
/// no `::`), and relative link targets (resolved from the document's folder, `docs/`).
fn named_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, span) in text.split('`').enumerate() {
        if i % 2 == 1 && span.contains('/') && !span.contains(' ') && !span.contains("::") {
            out.push(span.to_string());
        }
    }
    for link in text.split("](").skip(1) {
        let target = link.split(')').next().unwrap_or("");
        let target = target.split('#').next().unwrap_or("");
        if !target.is_empty() && !target.contains("://") {
            out.push(format!("docs/{target}"));
        }
    }
    out
}

/// The top-level folders git tracks files in.
fn top_level_folders() -> BTreeSet<String> {
    let out = Command::new("git")
        .args(["ls-files"])
        .current_dir(root())
        .output()
        .expect("git ls-files");
    assert!(out.status.success(), "git ls-files failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('/').map(|(dir, _)| format!("{dir}/")))
        .collect()
}

#[test]
fn every_path_the_architecture_names_exists() {
    let text = std::fs::read_to_string(root().join(DOC)).unwrap();
    let paths = named_paths(&text);
    assert!(paths.len() > 20, "only {} paths read", paths.len());
    let missing: Vec<&String> = paths.iter().filter(|p| !root().join(p).exists()).collect();
    assert!(missing.is_empty(), "{DOC} names missing paths: {missing:?}");
}

#[test]
fn the_architecture_names_every_top_level_folder() {
    let text = std::fs::read_to_string(root().join(DOC)).unwrap();
    let named: BTreeSet<String> = named_paths(&text).into_iter().collect();
    let folders = top_level_folders();
    assert!(folders.contains("targets/"), "{folders:?}");
    let unnamed: Vec<&String> = folders.iter().filter(|f| !named.contains(*f)).collect();
    assert!(unnamed.is_empty(), "{DOC} does not name {unnamed:?}");
}

#[test]
fn paths_are_read_from_backticks_and_links_only() {
    let text = "`a/b.rs` and `fuzz_with` and `x::y/z` and [d](design.md#top) and `c d/e`";
    assert_eq!(named_paths(text), ["a/b.rs", "docs/design.md"]);
}
