//! The README's contract with CI: CI extracts its first two fenced code blocks and runs
//! them verbatim, so they must be the campaign command and the test command, one line
//! each, with no code block before them; and the page stays short.

mod common;

use common::root;
use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

const CAMPAIGN: &str = "cargo run --release -p sintfuzz-triage -- campaign --engine libfuzzer --revision proxy-bit --targets relay_lifecycle --time 60s";
const TESTS: &str = "cargo test --workspace";
/// "At most about 10 KB".
const MAX_BYTES: usize = 10 * 1024;

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// Every code block in order: `Some(info string)` for a fenced one, `None` for an
/// indented one, and its text.
fn code_blocks(text: &str) -> Vec<(Option<String>, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(Option<String>, String)> = None;
    for e in Parser::new(text) {
        match e {
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => Some(info.to_string()),
                    CodeBlockKind::Indented => None,
                };
                current = Some((info, String::new()));
            }
            Event::Text(t) => {
                if let Some((_, body)) = current.as_mut() {
                    body.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(current.take()),
            _ => {}
        }
    }
    blocks
}

#[test]
fn the_first_two_code_blocks_are_the_campaign_and_test_commands() {
    let blocks = code_blocks(&readme());
    assert!(
        blocks.len() >= 2,
        "README.md has {} code block(s)",
        blocks.len()
    );
    for (i, expected) in [CAMPAIGN, TESTS].into_iter().enumerate() {
        let (info, body) = &blocks[i];
        assert!(
            info.is_some(),
            "README.md code block {} is indented, not fenced: {body:?}",
            i + 1
        );
        assert_eq!(
            body.as_str(),
            format!("{expected}\n"),
            "README.md fenced block {} must be exactly this one line (CI runs it verbatim)",
            i + 1
        );
    }
}

#[test]
fn the_readme_is_at_most_10_kib() {
    let n = readme().len();
    assert!(n <= MAX_BYTES, "README.md is {n} bytes, over {MAX_BYTES}");
}

/// The block reader itself: an indented block before the commands counts as a block.
#[test]
fn code_blocks_sees_fenced_and_indented_blocks_in_order() {
    let text = "text\n\n    indented\n\n```sh\none\n```\n\n~~~\ntwo\nthree\n~~~\n";
    assert_eq!(
        code_blocks(text),
        [
            (None, "indented\n".to_string()),
            (Some("sh".to_string()), "one\n".to_string()),
            (Some(String::new()), "two\nthree\n".to_string()),
        ]
    );
}
