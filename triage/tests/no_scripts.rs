//! Issue 11: engines are driven from one Rust home (`triage/src/engine/`, `sintfuzz
//! campaign|parity|tte|bench`), so no shell or Python script under `fuzz/` or `bench/`.

use std::path::Path;

fn scripts(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if p.is_dir() {
            // Build outputs and engine work directories are not ours.
            if !name.starts_with("target")
                && !name.starts_with("hfuzz_")
                && !matches!(name.as_str(), "corpus" | "artifacts" | "coverage")
            {
                scripts(&p, out);
            }
        } else if name.ends_with(".sh") || name.ends_with(".py") {
            out.push(p.display().to_string());
        }
    }
}

#[test]
fn no_script_in_fuzz_or_bench() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    for d in ["fuzz", "bench"] {
        assert!(root.join(d).is_dir(), "{d}/ missing");
        scripts(&root.join(d), &mut found);
    }
    assert!(found.is_empty(), "scripts left: {found:?}");
}
