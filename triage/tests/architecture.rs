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

/// The files git tracks (matching `pattern`, `.` for all), repository-relative.
fn tracked(pattern: &str) -> Vec<String> {
    let out = Command::new("git")
        .args(["ls-files", pattern])
        .current_dir(root())
        .output()
        .expect("git ls-files");
    assert!(out.status.success(), "git ls-files failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The top-level folders git tracks files in.
fn top_level_folders() -> BTreeSet<String> {
    tracked(".")
        .iter()
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

/// Longest a function may be without a stated reason.
const MAX_LINES: usize = 80;

/// The name of the function `line` starts, if it starts one.
fn fn_name(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
        "extern \"C\" ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let name = rest.strip_prefix("fn ")?;
    let end = name.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(&name[..end])
}

/// The `{`/`}` depth change of one line, outside strings, character literals and
/// comments; and whether it opens a `{`.
fn braces(line: &str, in_str: &mut Option<usize>) -> (i64, bool) {
    let c: Vec<char> = line.chars().collect();
    let (mut depth, mut opens, mut i) = (0, false, 0);
    while i < c.len() {
        if let Some(hashes) = *in_str {
            // Inside a string (`hashes`: of a raw string `r#"`, else 0 with escapes).
            if hashes == 0 && c[i] == '\\' {
                i += 2;
                continue;
            }
            if c[i] == '"'
                && c[i + 1..]
                    .iter()
                    .take(hashes - hashes.min(1))
                    .all(|&h| h == '#')
            {
                *in_str = None;
                i += hashes.max(1);
                continue;
            }
            i += 1;
            continue;
        }
        match c[i] {
            '/' if c.get(i + 1) == Some(&'/') => break,
            '"' => *in_str = Some(0),
            'r' if c.get(i + 1) == Some(&'#') => {
                let n = c[i + 1..].iter().take_while(|&&h| h == '#').count();
                if c.get(i + 1 + n) == Some(&'"') {
                    *in_str = Some(n + 1);
                    i += n + 2;
                    continue;
                }
            }
            '\'' if c.get(i + 2) == Some(&'\'') => i += 2,
            '\'' if c.get(i + 1) == Some(&'\\') => {
                i += c[i + 2..]
                    .iter()
                    .position(|&q| q == '\'')
                    .map_or(0, |p| p + 2)
            }
            '{' => {
                depth += 1;
                opens = true;
            }
            '}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    (depth, opens)
}

/// Whether a comment line states why a function is long: the word `long`, then a `:`
/// and the reason (`Long: a table, one arm per kind`, `Long (over 80 lines): a table`).
fn says_why_long(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    l.match_indices("long").any(|(i, _)| {
        let word = !l[..i].ends_with(|c: char| c.is_alphanumeric())
            && !l[i + 4..].starts_with(|c: char| c.is_alphanumeric());
        word && l[i + 4..].contains(':')
    })
}

/// Every function of `text` longer than [`MAX_LINES`] lines with no comment line saying
/// why ([`says_why_long`]) among the comments and attributes right above it: (name,
/// first line, lines).
fn long_functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let Some(name) = fn_name(line) else { continue };
        let (mut depth, mut in_str, mut started, mut end) = (0i64, None, false, None);
        for (k, l) in lines.iter().enumerate().skip(start) {
            let (d, opens) = braces(l, &mut in_str);
            // A declaration without a body (a trait's, an extern one) ends its line.
            if !started && !opens && l.trim_end().ends_with(';') {
                break;
            }
            started |= opens;
            depth += d;
            if started && depth == 0 {
                end = Some(k);
                break;
            }
        }
        let Some(end) = end else { continue };
        let n = end - start + 1;
        let reason = lines[..start]
            .iter()
            .rev()
            .map(|l| l.trim_start())
            .take_while(|l| l.starts_with("//") || l.starts_with("#["))
            .any(says_why_long);
        if n > MAX_LINES && !reason {
            out.push((name.to_string(), start + 1, n));
        }
    }
    out
}

#[test]
fn the_long_function_scan_measures_bodies_and_reads_reasons() {
    let body = |n: usize| "    let x = \"}{\"; // }\n".repeat(n);
    let short = format!("fn short() {{\n{}}}\n", body(MAX_LINES - 2));
    let long = format!(
        "pub fn long_one(a: u8) -> u8 {{\n{}}}\n",
        body(MAX_LINES - 1)
    );
    let reasoned = format!("/// A table.\n/// long: one arm per kind.\n#[inline]\n{long}");
    let table = format!("/// Long (over {MAX_LINES} lines): a table.\n{long}");
    assert!(long_functions(&table).is_empty());
    let unsaid = format!("/// Belongs to a longer list: of kinds.\n{long}");
    assert_eq!(long_functions(&unsaid).len(), 1);
    let declared = "fn declared(&self) -> [u8; 2];\n".to_string();
    let array = format!("fn array(\n) -> [u8; 2] {{\n{}}}\n", body(MAX_LINES));
    assert!(long_functions(&short).is_empty());
    assert_eq!(
        long_functions(&long),
        vec![("long_one".into(), 1, MAX_LINES + 1)]
    );
    assert!(long_functions(&reasoned).is_empty());
    assert!(long_functions(&format!("{declared}{short}")).is_empty());
    assert_eq!(
        long_functions(&array),
        vec![("array".into(), 1, MAX_LINES + 3)]
    );
    let raw = format!(
        "fn raw() {{\n    let s = r#\"{{ \"\"#;\n{}}}\n",
        body(MAX_LINES)
    );
    assert_eq!(long_functions(&raw), vec![("raw".into(), 1, MAX_LINES + 3)]);
}

/// Issue 23: no function over [`MAX_LINES`] lines without its reason (a comment line
/// saying `Long: why` right above it), in any tracked Rust file.
#[test]
fn no_function_is_long_without_a_stated_reason() {
    // Every tracked Rust file, both workspaces (the root's and `fuzz/`).
    let files = tracked("*.rs");
    assert!(files.iter().any(|f| f.starts_with("fuzz/")), "{files:?}");
    let mut long = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(root().join(f)).unwrap();
        for (name, line, n) in long_functions(&text) {
            long.push(format!("{f}:{line} {name}: {n} lines"));
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_LINES} lines with no `long:` reason above them (cut them at \
         their seams, or state why they are long): {long:#?}"
    );
}
