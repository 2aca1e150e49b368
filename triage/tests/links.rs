//! Every relative link in the tracked Markdown files resolves: to a tracked file or
//! directory, and for a `#anchor` into a Markdown file, to one of its headings (GitHub's
//! heading ids).

mod common;

use common::root;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// The repository's tracked paths (files, and every directory that holds one), and the
/// tracked Markdown files' text by path.
struct Repo {
    paths: BTreeSet<String>,
    markdown: BTreeMap<String, String>,
}

impl Repo {
    fn tracked() -> Repo {
        let o = Command::new("git")
            .args(["ls-files", "-z"])
            .current_dir(root())
            .output()
            .expect("git ls-files: the link check needs git and a checkout");
        assert!(o.status.success(), "git ls-files failed");
        let files: Vec<String> = String::from_utf8(o.stdout)
            .unwrap()
            .split('\0')
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        // A file deleted in the work tree but still in the index is not there to link to.
        let files: Vec<String> = files
            .into_iter()
            .filter(|f| root().join(f).exists())
            .collect();
        let markdown = files
            .iter()
            .filter(|f| f.ends_with(".md"))
            .map(|f| (f.clone(), std::fs::read_to_string(root().join(f)).unwrap()))
            .collect();
        Repo::new(files, markdown)
    }

    fn new(files: Vec<String>, markdown: BTreeMap<String, String>) -> Repo {
        let mut paths = BTreeSet::new();
        for f in files {
            let mut dir = f.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                paths.insert(parent.to_string());
                dir = parent;
            }
            paths.insert(f);
        }
        Repo { paths, markdown }
    }

    /// One line per link of `file` that does not resolve.
    fn broken_links(&self, file: &str) -> Vec<String> {
        let text = &self.markdown[file];
        let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
        let mut broken = Vec::new();
        for url in links(text) {
            if url.contains("://") || url.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = match url.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (url.as_str(), None),
            };
            let target = if path.is_empty() {
                file.to_string()
            } else {
                match resolve(dir, path) {
                    Some(t) => t,
                    None => {
                        broken.push(format!("{file}: {url}: leaves the repository"));
                        continue;
                    }
                }
            };
            if !self.paths.contains(&target) {
                broken.push(format!("{file}: {url}: no tracked file {target}"));
                continue;
            }
            if let (Some(anchor), Some(md)) = (anchor, self.markdown.get(&target)) {
                if !heading_ids(md).contains(anchor) {
                    broken.push(format!("{file}: {url}: no heading #{anchor} in {target}"));
                }
            }
        }
        broken
    }
}

fn parser(text: &str) -> Parser<'_> {
    Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH)
}

/// The destinations of every link and image (inline, reference and autolinks; not what is
/// inside code spans or code blocks).
fn links(text: &str) -> Vec<String> {
    parser(text)
        .filter_map(|e| match e {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                Some(dest_url.to_string())
            }
            _ => None,
        })
        .collect()
}

/// `dir`/`path` with `.` and `..` resolved and percent-escaped spaces decoded; `/path`
/// is from the repository root. `None` if it climbs out of the repository.
fn resolve(dir: &str, path: &str) -> Option<String> {
    let path = path.replace("%20", " ");
    let (start, rest) = match path.strip_prefix('/') {
        Some(r) => ("", r.to_string()),
        None => (dir, path),
    };
    let mut parts: Vec<&str> = start.split('/').filter(|p| !p.is_empty()).collect();
    for p in rest.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The ids GitHub gives the headings of a Markdown file: the heading's text, lower-cased,
/// without punctuation other than `-` and `_`, spaces as `-`; a repeated id gets `-1`, `-2`.
fn heading_ids(text: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut current: Option<String> = None;
    for e in parser(text) {
        match e {
            Event::Start(Tag::Heading { .. }) => {
                current = Some(String::new());
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = current.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let heading = current.take().unwrap_or_default();
                let slug: String = heading
                    .to_lowercase()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
                    .map(|c| if c == ' ' { '-' } else { c })
                    .collect();
                let n = seen.entry(slug.clone()).or_insert(0);
                ids.insert(if *n == 0 {
                    slug.clone()
                } else {
                    format!("{slug}-{n}")
                });
                *n += 1;
            }
            _ => {}
        }
    }
    ids
}

#[test]
fn every_relative_link_in_the_markdown_files_resolves() {
    let repo = Repo::tracked();
    assert!(
        repo.markdown.contains_key("README.md"),
        "README.md is not tracked"
    );
    let broken: Vec<String> = repo
        .markdown
        .keys()
        .flat_map(|f| repo.broken_links(f))
        .collect();
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// The checker itself: each kind of broken link is reported, and nothing else.
#[test]
fn the_link_check_reports_each_kind_of_broken_link() {
    let doc = "\
# Top
## Why relay_lifecycle misses 10 %
## Exhaustive check (`sintfuzz check`), 2026-11-30
## Top

[ok](other.md) [ok](other.md#a-b_c) [ok](#top-1) [ok](#why-relay_lifecycle-misses-10-)
[ok](#exhaustive-check-sintfuzz-check-2026-11-30) [ok](../data/) [ok](/docs/x.md)
[ok](https://example.org/missing) ![ok](img.svg) [ok][ref] `[not a link](nope.md)`

```
[not a link](nope.md)
```

| a | b |
|---|---|
| [bad](gone.md) | [bad](other.md#nope) |

[bad](#nothing) [bad](../../../up.md) [bad][bref] [bad](data/)

[ref]: other.md
[bref]: missing/ref.md
";
    let other = "# A b_c\n";
    let repo = Repo::new(
        [
            "docs/doc.md",
            "docs/other.md",
            "docs/img.svg",
            "data/t.tsv",
            "docs/x.md",
        ]
        .map(str::to_string)
        .to_vec(),
        [("docs/doc.md", doc), ("docs/other.md", other)]
            .map(|(f, t)| (f.to_string(), t.to_string()))
            .into_iter()
            .collect(),
    );
    let broken = repo.broken_links("docs/doc.md");
    let urls: Vec<&str> = broken
        .iter()
        .map(|b| b.split(": ").nth(1).unwrap())
        .collect();
    assert_eq!(
        urls,
        [
            "gone.md",
            "other.md#nope",
            "#nothing",
            "../../../up.md",
            "missing/ref.md",
            "data/"
        ],
        "{broken:#?}"
    );
}
